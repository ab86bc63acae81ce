//! Embedded, numbered schema migrations, applied at start-up and tracked in the database.

use rusqlite::{Connection, TransactionBehavior, params};

use super::time::{format_timestamp, now};
use crate::{Error, Result};

/// Every migration, in order. Append only: a shipped migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("migrations/0001_initial.sql")),
    (
        2,
        "schedule runs",
        include_str!("migrations/0002_schedule_runs.sql"),
    ),
    (
        3,
        "record order index",
        include_str!("migrations/0003_record_order_index.sql"),
    ),
    (4, "changes", include_str!("migrations/0004_changes.sql")),
    (5, "files", include_str!("migrations/0005_files.sql")),
    (6, "accounts", include_str!("migrations/0006_accounts.sql")),
    (7, "webhooks", include_str!("migrations/0007_webhooks.sql")),
    (8, "hooks", include_str!("migrations/0008_hooks.sql")),
    (9, "search", include_str!("migrations/0009_search.sql")),
    (
        10,
        "webhook cursors",
        include_str!("migrations/0010_webhook_cursors.sql"),
    ),
];

/// The schema version this build brings a database to.
pub(super) fn newest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// For a read replica, which never migrates: the database must have been migrated by a
/// primary, to a version this build knows.
pub(super) fn check_read_only(conn: &Connection) -> Result<()> {
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(|err| {
            Error::internal(format!(
                "the replicated database has no TinyBase schema ({err}); is the replica a \
                 TinyBase database?"
            ))
        })?;
    let newest = newest_version();
    if current > newest {
        return Err(Error::internal(format!(
            "the replicated database is at schema version {current}, newer than this \
             TinyBase build knows ({newest}); upgrade the replicas first"
        )));
    }
    Ok(())
}

/// Applies every migration newer than the database, each in its own transaction.
pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    let newest = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    if current > newest {
        return Err(Error::internal(format!(
            "the database is at schema version {current}, newer than this TinyBase build \
             knows ({newest}); upgrade TinyBase"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql).map_err(|err| {
            Error::internal(format!("migration {version} ({name}) failed: {err}"))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, format_timestamp(now())],
        )?;
        tx.commit()?;
        tracing::info!(version, name, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        assert_eq!(versions.first(), Some(&1));
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "{versions:?}"
        );
    }

    #[test]
    fn applying_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        apply(&mut conn).unwrap();
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, MIGRATIONS.len() as i64);
        for table in [
            "users",
            "auth_tokens",
            "collections",
            "records",
            "function_calls",
            "function_schedules",
        ] {
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "table {table} missing");
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        let err = apply(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
