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

/// Counts the ended write transactions that changed an identity table of one database.
pub(super) struct IdentityChanges {
    /// Tells this database apart from others open in the process (remembered identities
    /// are filed under it).
    database: u64,
    /// Set by the update hook while a transaction changes an identity table.
    touched: AtomicBool,
    version: AtomicU64,
}

impl IdentityChanges {
    /// The changes of a newly opened database, with an id no other database opened by
    /// this process has.
    pub(super) fn new() -> Self {
        static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);
        Self {
            database: NEXT_DATABASE.fetch_add(1, Ordering::Relaxed),
            touched: AtomicBool::new(false),
            version: AtomicU64::new(0),
        }
    }

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

    /// Called once a write transaction or work on the bare connection has ended
    /// (committed or not), before its callers are answered: if it touched an identity
    /// table, the version moves on.
    pub(super) fn transaction_ended(&self) {
        if self.touched.swap(false, Ordering::Relaxed) {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// The database's id and its current version: take them before reading.
    pub(super) fn version(&self) -> (u64, u64) {
        (self.database, self.version.load(Ordering::Acquire))
    }
}
