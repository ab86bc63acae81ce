//! Knowing when the tables that say who a caller is last changed, so the answer to "whose
//! token is this" can be remembered between requests without ever outliving a change.
//!
//! The writer connection reports every row it changes (SQLite's update hook). A change to
//! `users` or `auth_tokens` marks the transaction; once the transaction has ended, and
//! before any of its callers is answered, the version moves on. So whoever is told that a
//! logout, a demotion or a deletion is done, and anyone asking after that, sees a new
//! version and reads afresh. A reader takes the version *before* its read: if a change
//! commits in between, what it read is filed under the older version and never used.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusqlite::Connection;
use rusqlite::hooks::Action;

/// The tables whose rows decide who a bearer token belongs to.
const IDENTITY_TABLES: [&str; 2] = ["users", "auth_tokens"];

/// Counts the ended write transactions that changed an identity table.
#[derive(Default)]
pub(super) struct IdentityChanges {
    /// Set by the update hook while a transaction changes an identity table.
    touched: AtomicBool,
    version: AtomicU64,
}

impl IdentityChanges {
    /// Reports `conn`'s changes to identity tables to `changes`. For the writer
    /// connection: every write goes through it.
    pub(super) fn watch(changes: &Arc<Self>, conn: &Connection) -> rusqlite::Result<()> {
        let changes = Arc::clone(changes);
        conn.update_hook(Some(
            move |_: Action, _database: &str, table: &str, _row: i64| {
                if IDENTITY_TABLES.contains(&table) {
                    changes.touched.store(true, Ordering::Relaxed);
                }
            },
        ))
    }

    /// Called once a write transaction has ended (committed or not), before its callers
    /// are answered: a transaction that touched an identity table moves the version on.
    pub(super) fn transaction_ended(&self) {
        if self.touched.swap(false, Ordering::Relaxed) {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// Called after work on the bare connection (maintenance, a restore): it may have
    /// changed anything, including tables the hook does not see rows of.
    pub(super) fn anything_changed(&self) {
        self.touched.store(false, Ordering::Relaxed);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The current version: take it before reading.
    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}
