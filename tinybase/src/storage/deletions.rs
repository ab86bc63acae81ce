//! Durable pending deletions of stored objects (the `file_deletions` table).
//!
//! The rule that keeps storage free of orphans: an object is named in `file_deletions`
//! whenever nothing committed refers to it. An upload reserves its key before its first
//! byte ([`reserve`]) and the record write that takes it in releases the key in the same
//! transaction ([`keep_in`]); a write that stops referring to objects names them in its
//! transaction ([`schedule_in`]) and deletes them right after the commit
//! ([`delete_now`]). Whatever a crash or an error leaves behind, [`sweep`] deletes later.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};

use super::FileStore;
use crate::Result;
use crate::db::{Database, format_timestamp, now};

/// How long an upload's reservation waits before a sweep may delete its object: an upload
/// still in progress after this long is abandoned (the body deadline ends uploads far
/// sooner). A restart sweeps reservations made before it at once.
const UPLOAD_GRACE_HOURS: i64 = 24;

/// Rows [`sweep`] handles per batch.
const SWEEP_BATCH: i64 = 100;

/// Reserves `key` for an upload about to start: if no record takes it in, a sweep deletes it.
///
/// # Errors
/// Internal errors only.
pub async fn reserve(db: &Database, key: String) -> Result<()> {
    db.write(move |tx| {
        let at = now();
        tx.execute(
            "INSERT OR REPLACE INTO file_deletions (key, due_at, created_at) VALUES (?1, ?2, ?3)",
            params![
                key,
                format_timestamp(at + Duration::hours(UPLOAD_GRACE_HOURS)),
                format_timestamp(at)
            ],
        )?;
        Ok(())
    })
    .await
}

/// Inside a record write: the uploads `keys` are now referred to; nothing deletes them.
pub(crate) fn keep_in(conn: &Connection, keys: &[String]) -> Result<()> {
    let mut statement = conn.prepare_cached("DELETE FROM file_deletions WHERE key = ?1")?;
    for key in keys {
        statement.execute([key])?;
    }
    Ok(())
}

/// Inside a write: nothing will refer to `keys` once it commits; delete them.
pub(crate) fn schedule_in(conn: &Connection, keys: &[String]) -> Result<()> {
    let at = format_timestamp(now());
    let mut statement = conn.prepare_cached(
        "INSERT OR REPLACE INTO file_deletions (key, due_at, created_at) VALUES (?1, ?2, ?2)",
    )?;
    for key in keys {
        statement.execute(params![key, at])?;
    }
    Ok(())
}

/// Deletes the objects `keys` (already in `file_deletions`) and their rows. A failure is
/// logged and leaves the row for the next sweep: the caller's write has committed.
pub async fn delete_now(db: &Database, store: &FileStore, keys: Vec<String>) {
    let mut deleted = Vec::with_capacity(keys.len());
    for key in keys {
        match store.remove(&key).await {
            Ok(()) => deleted.push(key),
            Err(err) => {
                tracing::warn!(%err, key, "could not delete a stored file; a later sweep retries")
            }
        }
    }
    if deleted.is_empty() {
        return;
    }
    let forget = db
        .write(move |tx| {
            let mut statement = tx.prepare_cached("DELETE FROM file_deletions WHERE key = ?1")?;
            for key in &deleted {
                statement.execute([key])?;
            }
            Ok(())
        })
        .await;
    if let Err(err) = forget {
        tracing::warn!(%err, "could not record deleted files; a later sweep deletes them again");
    }
}

/// Deletes every object whose deletion is due, and every upload reservation made before
/// `started_at` (the process start: such an upload can no longer finish). Returns how
/// many keys went.
///
/// # Errors
/// Internal errors reading the table; failures to delete an object are logged and retried
/// by the next sweep.
pub async fn sweep(db: &Database, store: &FileStore, started_at: DateTime<Utc>) -> Result<usize> {
    let mut total = 0;
    loop {
        let due = format_timestamp(now());
        let started = format_timestamp(started_at);
        let keys: Vec<String> = db
            .read(move |conn| {
                let mut statement = conn.prepare(
                    "SELECT key FROM file_deletions WHERE due_at <= ?1 OR created_at < ?2
                     ORDER BY key LIMIT ?3",
                )?;
                let keys = statement
                    .query_map(params![due, started, SWEEP_BATCH], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(keys)
            })
            .await?;
        let count = keys.len();
        if count == 0 {
            return Ok(total);
        }
        let before = pending(db).await?;
        delete_now(db, store, keys).await;
        let after = pending(db).await?;
        let done = before.saturating_sub(after);
        total += done;
        // Nothing could be deleted (the store is down): stop; the next pass retries.
        if done == 0 || (count as i64) < SWEEP_BATCH {
            return Ok(total);
        }
    }
}

/// How many deletions are pending.
///
/// # Errors
/// Internal errors only.
pub async fn pending(db: &Database) -> Result<usize> {
    db.read(|conn| {
        let count: i64 =
            conn.query_row("SELECT COUNT(*) FROM file_deletions", [], |row| row.get(0))?;
        Ok(usize::try_from(count).unwrap_or(0))
    })
    .await
}
