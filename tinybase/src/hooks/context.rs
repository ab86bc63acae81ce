//! What `after_*` hooks receive: a context for further work and the event itself.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::auth::users::User;
use crate::changes::ChangeAction;
use crate::collections::{Caller, Service};
use crate::db::Database;
use crate::functions::Records;

/// What an `after_*` hook may use: the database and the records, as the system.
#[derive(Clone)]
pub struct HookContext {
    pub(crate) name: &'static str,
    pub(crate) db: Database,
    pub(crate) collections: Service,
}

impl std::fmt::Debug for HookContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookContext")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl HookContext {
    /// The hook's name.
    pub fn hook_name(&self) -> &str {
        self.name
    }

    /// Direct database access (see [`Database::read`] and [`Database::write`]).
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The collections service.
    pub fn collections(&self) -> &Service {
        &self.collections
    }

    /// Records with every access rule passed (hooks are trusted server-side code);
    /// validation, `before_*` hooks and the change log still apply, so a write here runs
    /// the `after_*` hooks of its own collection in turn.
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.collections, Caller::system())
    }
}

/// A committed record write, as an `after_*` record hook receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    /// The change's place in the change log (unique; use it to make a hook idempotent,
    /// since a hook may run twice for one change after a crash).
    pub seq: i64,
    /// What happened.
    pub action: ChangeAction,
    /// The collection's name.
    pub collection: String,
    /// The record's id.
    pub record_id: String,
    /// The record as the API prints it: after the write, or as it was for a delete.
    pub record: Value,
    /// When the write committed (UTC).
    pub at: DateTime<Utc>,
}

impl RecordChange {
    /// One field of the record's `data`, if present.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.record.get("data").and_then(|data| data.get(name))
    }
}

/// An account event, as an `after_register` / `after_login` hook receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEvent {
    /// The user who registered or signed in.
    pub user: User,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
}
