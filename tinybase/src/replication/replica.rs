//! What a read replica does instead of writing: it watches its copy of the database
//! for what the follower brought in, and hands it on as if it had been committed here.
//! New entries of the change log feed realtime (the same path that serves a client
//! resuming by seq), and changed collections are reloaded so their records can be read.

use std::time::Duration;

use crate::collections::Service as Collections;
use crate::db::Database;
use crate::db::rusqlite::Connection;
use crate::{Result, changes};

/// How often the replica looks for replicated changes: well under the follower's own
/// one-second poll, so realtime adds little to the replication lag.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// What the replica last saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    seq: i64,
    /// Collections' count and newest `updated_at`: changes when one is created, edited
    /// or deleted.
    collections: (i64, Option<String>),
}

fn look(conn: &Connection) -> Result<Seen> {
    let seq = changes::latest_seq(conn)?;
    let collections = conn.query_row(
        "SELECT count(*), max(updated_at) FROM collections",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(Seen { seq, collections })
}

/// Runs until aborted: announces replicated changes to realtime, reloads collections.
pub(crate) async fn watch(db: Database, collections: Collections) {
    let mut last: Option<Seen> = None;
    let mut every = tokio::time::interval(WATCH_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let seen = match db.read(look).await {
            Ok(seen) => seen,
            Err(err) => {
                tracing::warn!(%err, "could not look for replicated changes");
                continue;
            }
        };
        if last.as_ref() == Some(&seen) {
            continue;
        }
        // Collections first: an event of a new collection is then delivered with it.
        if last
            .as_ref()
            .is_none_or(|last| last.collections != seen.collections)
        {
            match collections.reload().await {
                Ok(true) => tracing::info!("reloaded collections changed on the primary"),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%err, "could not reload the replicated collections");
                    continue;
                }
            }
        }
        collections.change_feed().committed(seen.seq);
        last = Some(seen);
    }
}
