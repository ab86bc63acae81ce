//! Per-connection settings, applied to every connection the process opens.

use rusqlite::Connection;
use rusqlite::config::DbConfig;

/// How long a connection waits on a lock before giving up, in milliseconds. Writes are
/// serialised in-process, so this only matters when another process holds the file.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Each read connection's page cache, in KiB (SQLite's default is 2,000).
const READER_CACHE_KIB: i64 = 512;

/// How large the write-ahead log file may stay after a checkpoint.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// What a connection is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The single connection that writes.
    Writer,
    /// A pooled connection that must never write.
    Reader,
    /// A read-only connection to a read replica's file, which Litestream keeps in
    /// rollback-journal mode: it must not switch the journal mode (a write).
    Replica,
}

/// Applies TinyBase's pragmas. WAL lets readers run beside the writer;
/// `synchronous=NORMAL` is durable across application crashes in WAL mode and much faster
/// than FULL; `trusted_schema=OFF` keeps SQL functions out of schema objects we did not make.
pub(super) fn configure(conn: &Connection, role: Role) -> rusqlite::Result<()> {
    if role != Role::Replica {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // SQLite is built with STAT4 samples. Without this, a cached statement whose plan
    // could depend on a bound value (a record's collection, a list filter's operand)
    // is marked expired whenever that parameter is bound again, so every run parsed and
    // planned it afresh: 4 % of a create's CPU and more of a list's. Plans now come from
    // the statistics alone, the same for every value.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Hot queries (token lookup, record reads) are prepared once per connection.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    match role {
        // Statistics are gathered by the writer; sampling keeps ANALYZE fast on big tables.
        Role::Writer => {
            // After a checkpoint resets the log, shrink the file back to this size.
            conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
        }
        Role::Reader | Role::Replica => {
            conn.pragma_update(None, "query_only", "ON")?;
            // Readers are many; the operating system caches the file for all of them, so
            // each keeps only a small private cache of its own.
            conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
        }
    }
    Ok(())
}
