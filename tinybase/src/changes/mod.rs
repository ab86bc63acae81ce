//! The change log: every committed record write, in order.
//!
//! The record service appends a row inside the same transaction as each create, update
//! and delete, so the log holds exactly the writes that committed: a rolled-back write
//! leaves no row, a committed one always has one. Readers (realtime delivery today)
//! follow it by sequence number and are woken through [`ChangeFeed`] after each commit;
//! they never run on the write path. Old rows are pruned by age and count.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::Result;
use crate::db::{Database, format_timestamp, parse_timestamp};

/// What a write did to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    /// The record was created.
    Create,
    /// The record was changed.
    Update,
    /// The record was deleted.
    Delete,
}

impl ChangeAction {
    /// The name stored and sent: `create`, `update` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// One committed record write.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its place in the log: strictly increasing, never reused.
    pub seq: i64,
    /// What happened.
    pub action: ChangeAction,
    /// The collection's id.
    pub collection_id: String,
    /// The collection's name when the write happened.
    pub collection: String,
    /// The record's id.
    pub record_id: String,
    /// The record's JSON as the API prints it: after the write, or as it was for a delete.
    pub record: String,
    /// When the write committed (UTC).
    pub at: DateTime<Utc>,
}

/// A write to log, built by the record service.
#[derive(Debug, Clone, Copy)]
pub struct NewChange<'a> {
    /// What happened.
    pub action: ChangeAction,
    /// The collection's id.
    pub collection_id: &'a str,
    /// The collection's name.
    pub collection: &'a str,
    /// The record's id.
    pub record_id: &'a str,
    /// The record's JSON as the API prints it.
    pub record: &'a str,
    /// When the write happened.
    pub at: DateTime<Utc>,
}

/// Appends `change` to the log inside the caller's write transaction; returns its seq.
///
/// # Errors
/// Database errors, which fail the write with it.
pub fn append(conn: &Connection, change: &NewChange<'_>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO changes (action, collection_id, collection, record_id, record, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        change.action.as_str(),
        change.collection_id,
        change.collection,
        change.record_id,
        change.record,
        format_timestamp(change.at),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The columns [`change_from_row`] reads, in its order.
const CHANGE_COLUMNS: &str =
    "seq, action, collection_id, collection, record_id, record, created_at";

fn change_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Change> {
    let action: String = row.get(1)?;
    Ok(Change {
        seq: row.get(0)?,
        action: ChangeAction::parse(&action).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown change action {action:?}").into(),
            )
        })?,
        collection_id: row.get(2)?,
        collection: row.get(3)?,
        record_id: row.get(4)?,
        record: row.get(5)?,
        at: parse_timestamp(&row.get::<_, String>(6)?)?,
    })
}

/// Up to `limit` changes after `after_seq`, oldest first.
///
/// # Errors
/// Database errors.
pub fn read_after(conn: &Connection, after_seq: i64, limit: usize) -> Result<Vec<Change>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after_seq, limit], change_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The change at `seq`, unless it was pruned (or never committed).
///
/// # Errors
/// Database errors.
pub fn read_one(conn: &Connection, seq: i64) -> Result<Option<Change>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq = ?1"
        ))?
        .query_row([seq], change_from_row)
        .optional()?)
}

/// The oldest and newest seq still in the log, if it holds any row.
///
/// # Errors
/// Database errors.
pub fn bounds(conn: &Connection) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .query_row(
            "SELECT MIN(seq), MAX(seq) FROM changes HAVING COUNT(*) > 0",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// The newest seq ever handed out (also after pruning emptied the log): where a new
/// reader starts following.
///
/// # Errors
/// Database errors.
pub fn latest_seq(conn: &Connection) -> Result<i64> {
    // AUTOINCREMENT keeps the high-water mark in sqlite_sequence even when rows are gone.
    Ok(conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Deletes changes older than `max_age_days` (0: no age limit) and all but the newest
/// `max_rows` (0: no count limit). Returns how many went.
///
/// # Errors
/// Database errors.
pub async fn prune(db: &Database, max_age_days: u32, max_rows: u64) -> Result<usize> {
    prune_with(db, max_age_days, max_rows, |_, _| Ok(())).await
}

/// Like [`prune`]; `before_pruning` runs first, in the same transaction, with the seq of the oldest change
/// that stays: a reader that has not yet dealt with the changes about to go (a lagging
/// webhook) keeps what it needs of them there, atomically with their removal.
///
/// # Errors
/// Database errors, and whatever `before_pruning` returns (nothing is deleted then).
pub async fn prune_with<F>(
    db: &Database,
    max_age_days: u32,
    max_rows: u64,
    before_pruning: F,
) -> Result<usize>
where
    F: FnOnce(&rusqlite::Transaction<'_>, i64) -> Result<()> + Send + 'static,
{
    db.write(move |tx| {
        let Some((_, newest)) = bounds(tx)? else {
            return Ok(0);
        };
        let mut first_kept = i64::MIN;
        if max_age_days > 0 {
            let cutoff = crate::db::now() - chrono::TimeDelta::days(i64::from(max_age_days));
            let first_young: Option<i64> = tx.query_row(
                "SELECT MIN(seq) FROM changes WHERE created_at >= ?1",
                [format_timestamp(cutoff)],
                |row| row.get(0),
            )?;
            first_kept = first_kept.max(first_young.unwrap_or(newest + 1));
        }
        if max_rows > 0 {
            let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
            first_kept = first_kept.max(newest.saturating_sub(keep) + 1);
        }
        if first_kept == i64::MIN {
            return Ok(0);
        }
        before_pruning(tx, first_kept)?;
        Ok(tx.execute("DELETE FROM changes WHERE seq < ?1", [first_kept])?)
    })
    .await
}

/// Tells readers that changes up to some seq have committed. Cheap to clone.
#[derive(Clone)]
pub struct ChangeFeed {
    committed: Arc<watch::Sender<i64>>,
    /// The highest seq announced, so announcements never go backwards when writers
    /// finish out of order.
    highest: Arc<AtomicI64>,
}

impl ChangeFeed {
    /// A feed starting at `latest`, the newest seq already in the database.
    pub fn new(latest: i64) -> Self {
        let (committed, _) = watch::channel(latest);
        Self {
            committed: Arc::new(committed),
            highest: Arc::new(AtomicI64::new(latest)),
        }
    }

    /// Announces that the change `seq` (and everything before it) has committed.
    pub fn committed(&self, seq: i64) {
        let before = self.highest.fetch_max(seq, Ordering::AcqRel);
        if seq > before {
            self.committed.send_if_modified(|current| {
                let newer = seq > *current;
                if newer {
                    *current = seq;
                }
                newer
            });
        }
    }

    /// A receiver that wakes whenever a newer seq is announced.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.committed.subscribe()
    }

    /// The newest seq announced.
    pub fn latest(&self) -> i64 {
        self.highest.load(Ordering::Acquire)
    }
}
