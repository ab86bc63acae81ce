//! What a webhook's worker sends and logs: fresh changes read from the change log by the
//! webhook's own cursor, the outbox of deliveries to retry, and the delivery log.
//!
//! A change goes to a webhook straight from the change log. Only a delivery whose first
//! attempt fails (or that an admin redelivers) is written to the outbox
//! (`webhook_deliveries`), with the exact body to send again; a delivery that succeeds at
//! once costs one row in the attempt log and nothing else. The worker stores its cursor
//! in the same write as the attempts it logs, so after a crash it sends again exactly
//! what it had not logged yet: delivery is at-least-once, never lost. A change about to
//! be pruned from the change log before a lagging worker got to it is copied into the
//! outbox first ([`keep_unsent`]).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::store::{self, Target};
use crate::changes::{self, Change};
use crate::db::{format_timestamp, parse_optional_timestamp, parse_timestamp};
use crate::pagination::{Page, Pagination};
use crate::{Error, Result};

/// The most changes one read of the change log takes.
pub(crate) const SCAN_BATCH: usize = 500;
/// The longest wait between two retries.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);

/// The id of the delivery of `change` to webhook `webhook_id`: a UUIDv7 with the change's
/// commit time, its other bits taken from a hash of the two. Derived rather than drawn,
/// so a delivery sent again after a crash (before its attempt was logged) carries the
/// same id, and receivers deduplicate it.
pub(crate) fn delivery_id(webhook_id: &str, change: &Change) -> String {
    let digest = Sha256::new()
        .chain_update(webhook_id.as_bytes())
        .chain_update(b"/")
        .chain_update(change.seq.to_be_bytes())
        .finalize();
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(change.at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// The JSON body of a delivery: `{id, event, collection, record, seq, at}`, with the
/// record exactly as the change log holds it.
fn body(delivery_id: &str, change: &Change) -> Result<String> {
    Ok(format!(
        "{{\"id\":{},\"event\":\"{}\",\"collection\":{},\"record\":{},\"seq\":{},\"at\":{}}}",
        serde_json::to_string(delivery_id)?,
        change.action.as_str(),
        serde_json::to_string(&change.collection)?,
        change.record,
        change.seq,
        serde_json::to_string(&format_timestamp(change.at))?,
    ))
}

/// A delivery to attempt now: a fresh change, or one from the outbox.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    pub(crate) id: String,
    pub(crate) seq: i64,
    pub(crate) event: String,
    pub(crate) collection: String,
    pub(crate) body: String,
    /// Attempts made before this one.
    pub(crate) attempts: i64,
    /// The last time an attempt may start.
    pub(crate) retry_until: DateTime<Utc>,
    /// It has a row in the outbox (it was tried before, or redelivered).
    pub(crate) queued: bool,
}

impl Due {
    /// The first delivery of `change` to webhook `webhook_id`, retried until `retry_for`
    /// after the change committed.
    fn fresh(webhook_id: &str, change: &Change, retry_for: Duration) -> Result<Self> {
        Self::of_change(delivery_id(webhook_id, change), change, retry_for)
    }

    /// The delivery `id` of `change`, not yet attempted.
    fn of_change(id: String, change: &Change, retry_for: Duration) -> Result<Self> {
        Ok(Self {
            body: body(&id, change)?,
            id,
            seq: change.seq,
            event: change.action.as_str().to_owned(),
            collection: change.collection.clone(),
            attempts: 0,
            retry_until: change.at + TimeDelta::from_std(retry_for).unwrap_or(TimeDelta::MAX),
            queued: false,
        })
    }
}

/// What the change log holds for a webhook after its cursor.
pub(crate) struct Fresh {
    /// The changes it gets, oldest first, at most the limit asked for.
    pub(crate) due: Vec<Due>,
    /// The seq of the last change looked at: everything up to it is in `due` or not
    /// wanted.
    pub(crate) read_to: Option<i64>,
    /// Whether the log may hold more after `read_to`.
    pub(crate) more: bool,
}

/// Reads the change log after `after` for changes `target` gets: at most `limit` of
/// them, looking at no more than [`SCAN_BATCH`] changes.
pub(crate) fn fresh(
    conn: &Connection,
    webhook_id: &str,
    target: &Target,
    after: i64,
    limit: usize,
    retry_for: Duration,
) -> Result<Fresh> {
    let batch = changes::read_after(conn, after, SCAN_BATCH)?;
    let mut fresh = Fresh {
        due: Vec::new(),
        read_to: None,
        more: batch.len() == SCAN_BATCH,
    };
    for change in &batch {
        if target.wants(change) {
            if fresh.due.len() == limit {
                fresh.more = true;
                break;
            }
            fresh.due.push(Due::fresh(webhook_id, change, retry_for)?);
        }
        fresh.read_to = Some(change.seq);
    }
    Ok(fresh)
}

/// Marks the changes up to `seq` as dealt with for the webhook. The cursor never moves
/// back: [`keep_unsent`] may have moved it past a worker's batch in flight.
pub(crate) fn advance_cursor(tx: &Transaction<'_>, webhook_id: &str, seq: i64) -> Result<()> {
    tx.prepare_cached("UPDATE webhooks SET sent_seq = MAX(sent_seq, ?2) WHERE id = ?1")?
        .execute(params![webhook_id, seq])?;
    Ok(())
}

/// Before the change log drops the changes older than `first_kept`: copies those an
/// active webhook gets but has not dealt with yet into its outbox, due at `at`, and moves
/// its cursor past them. A worker that was sending some of them at that moment sends
/// them again from the outbox, which at-least-once delivery allows.
pub(crate) fn keep_unsent(
    tx: &Transaction<'_>,
    first_kept: i64,
    at: DateTime<Utc>,
    retry_for: Duration,
) -> Result<usize> {
    let mut kept = 0;
    for id in store::all_ids(tx)? {
        let Some(target) = store::target(tx, &id)? else {
            continue;
        };
        if !target.is_active {
            continue;
        }
        let mut after = target.read_from();
        while after < first_kept - 1 {
            let found = fresh(tx, &id, &target, after, usize::MAX, retry_for)?;
            for mut due in found.due.into_iter().filter(|d| d.seq < first_kept) {
                due.retry_until = due.retry_until.max(at);
                queue(tx, &id, &due, "pending", Some(at), at)?;
                kept += 1;
            }
            match found.read_to {
                Some(last) if found.more => after = last,
                _ => break,
            }
        }
        advance_cursor(tx, &id, first_kept - 1)?;
    }
    Ok(kept)
}

/// Writes `due` into the outbox (once: a delivery already there is left as it is).
fn queue(
    tx: &Transaction<'_>,
    webhook_id: &str,
    due: &Due,
    state: &str,
    next_attempt_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, collection, body, state,
             attempts, next_attempt_at, retry_until, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
         ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        due.id,
        webhook_id,
        due.seq,
        due.event,
        due.collection,
        due.body,
        state,
        due.attempts,
        next_attempt_at.map(format_timestamp),
        format_timestamp(due.retry_until),
        format_timestamp(at),
    ])?;
    Ok(())
}

/// The webhook's first `limit` outbox deliveries that are due, in the order to send
/// them: oldest due time, then change order.
pub(crate) fn next_due(
    conn: &Connection,
    webhook_id: &str,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, seq, event, collection, body, attempts, retry_until FROM webhook_deliveries
         WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2
         ORDER BY next_attempt_at, seq LIMIT ?3",
    )?;
    let due = stmt
        .query_map(
            params![
                webhook_id,
                format_timestamp(at),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |row| {
                Ok(Due {
                    id: row.get(0)?,
                    seq: row.get(1)?,
                    event: row.get(2)?,
                    collection: row.get(3)?,
                    body: row.get(4)?,
                    attempts: row.get(5)?,
                    retry_until: parse_timestamp(&row.get::<_, String>(6)?)?,
                    queued: true,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(due)
}

/// When the webhook's next pending outbox delivery is due, if it has one.
pub(crate) fn next_due_at(conn: &Connection, webhook_id: &str) -> Result<Option<DateTime<Utc>>> {
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries
             WHERE webhook_id = ?1 AND state = 'pending'",
        )?
        .query_row([webhook_id], |row| row.get(0))?;
    Ok(parse_optional_timestamp(text)?)
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The answer's status, when one came.
    pub(crate) status_code: Option<u16>,
    /// Why it failed: no answer, or an excerpt of a non-2xx answer.
    pub(crate) error: Option<String>,
    /// How long it took.
    pub(crate) duration_ms: i64,
    /// A 2xx answer came.
    pub(crate) delivered: bool,
}

/// The wait before retry number `attempt` (1 for the first retry): `initial`, doubling
/// each time, at most an hour.
pub(crate) fn retry_delay(initial: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 31)).unwrap_or(31);
    initial
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_RETRY_DELAY)
}

/// Logs an attempt of `due` made at `at` and decides what follows: delivered, retried
/// later, or failed for good once the next try would start after `retry_until`. A fresh
/// delivery enters the outbox only when it was not delivered.
pub(crate) fn record_attempt(
    tx: &Transaction<'_>,
    webhook_id: &str,
    due: &Due,
    outcome: &Outcome,
    at: DateTime<Utc>,
    initial_delay: Duration,
) -> Result<()> {
    let attempt = due.attempts + 1;
    let next =
        at + TimeDelta::from_std(retry_delay(initial_delay, attempt)).unwrap_or(TimeDelta::MAX);
    let (state, next_attempt_at) = if outcome.delivered {
        ("delivered", None)
    } else if next > due.retry_until {
        ("failed", None)
    } else {
        ("pending", Some(next))
    };
    if due.queued {
        let updated = tx
            .prepare_cached(
                "UPDATE webhook_deliveries SET attempts = ?2, state = ?3, next_attempt_at = ?4,
                     updated_at = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                due.id,
                attempt,
                state,
                next_attempt_at.map(format_timestamp),
                format_timestamp(at)
            ])?;
        if updated == 0 {
            // Deleted with its webhook while the attempt ran: nothing to log it under.
            return Ok(());
        }
    } else if !outcome.delivered {
        let tried = Due {
            attempts: attempt,
            ..due.clone()
        };
        queue(tx, webhook_id, &tried, state, next_attempt_at, at)?;
    }
    tx.prepare_cached(
        "INSERT INTO webhook_attempts (id, delivery_id, webhook_id, seq, event, collection,
             attempt, status_code, error, duration_ms, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
         WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?3)",
    )?
    .execute(params![
        Uuid::now_v7().to_string(),
        due.id,
        webhook_id,
        due.seq,
        due.event,
        due.collection,
        attempt,
        outcome.status_code,
        outcome.error,
        outcome.duration_ms,
        format_timestamp(at),
    ])?;
    Ok(())
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Retries ran out; `redeliver` tries again.
    Failed,
}

impl DeliveryState {
    fn parse(text: &str) -> rusqlite::Result<Self> {
        match text {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("unknown delivery state {other:?}").into(),
            )),
        }
    }
}

/// One attempt to deliver a change to a webhook, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryAttempt {
    /// UUIDv7 of the attempt.
    pub id: String,
    /// The delivery it was made for: the `id` in the body and `x-tinybase-delivery`,
    /// the same for every attempt; `redeliver` takes it.
    pub delivery_id: String,
    /// The change's place in the change log.
    pub seq: i64,
    /// `create`, `update` or `delete`.
    pub event: String,
    /// The collection of the changed record.
    pub collection: String,
    /// The receiver's HTTP status; `null` when no answer came.
    pub status_code: Option<u16>,
    /// Why the attempt failed (no answer, or the start of a non-2xx answer); `null` when
    /// it succeeded.
    pub error: Option<String>,
    /// 1 for the first attempt of the delivery, then 2, 3, …
    pub attempt: i64,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i64,
    /// When the attempt was made (UTC).
    pub created_at: DateTime<Utc>,
    /// Where the delivery stands now.
    pub state: DeliveryState,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A page of a webhook's attempts, newest first.
pub(crate) fn attempts(
    conn: &Connection,
    webhook_id: &str,
    page: Pagination,
) -> Result<Page<DeliveryAttempt>> {
    let total: i64 = conn.query_row(
        "SELECT COUNT(*) FROM webhook_attempts WHERE webhook_id = ?1",
        [webhook_id],
        |row| row.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.delivery_id, a.seq, a.event, a.collection, a.status_code, a.error,
                a.attempt, a.duration_ms, a.created_at,
                -- A delivery without an outbox row succeeded at its first attempt.
                COALESCE(d.state, 'delivered'), d.next_attempt_at
         FROM webhook_attempts a LEFT JOIN webhook_deliveries d ON d.id = a.delivery_id
         WHERE a.webhook_id = ?1
         ORDER BY a.created_at DESC, a.id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let items = stmt
        .query_map(params![webhook_id, page.limit(), page.offset()], |row| {
            Ok(DeliveryAttempt {
                id: row.get(0)?,
                delivery_id: row.get(1)?,
                seq: row.get(2)?,
                event: row.get(3)?,
                collection: row.get(4)?,
                status_code: row.get(5)?,
                error: row.get(6)?,
                attempt: row.get(7)?,
                duration_ms: row.get(8)?,
                created_at: parse_timestamp(&row.get::<_, String>(9)?)?,
                state: DeliveryState::parse(&row.get::<_, String>(10)?)?,
                next_attempt_at: parse_optional_timestamp(row.get(11)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page.page_of(items, u64::try_from(total).unwrap_or(0)))
}

/// A delivery after `redeliver`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The delivery's id (the body's `id`, `x-tinybase-delivery`).
    pub id: String,
    /// The change's place in the change log.
    pub seq: i64,
    /// `create`, `update` or `delete`.
    pub event: String,
    /// The collection of the changed record.
    pub collection: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i64,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the change was copied into the outbox (UTC).
    pub created_at: DateTime<Utc>,
}

/// Makes a delivery pending and due at `at`, with a fresh retry window of `retry_for`:
/// the same body goes out again under the same delivery id. A delivery that succeeded at
/// once has no outbox row: its body is built again from the change log, so it can be
/// redelivered while the change log still holds its change.
pub(crate) fn redeliver(
    tx: &Transaction<'_>,
    webhook_id: &str,
    delivery_id: &str,
    at: DateTime<Utc>,
    retry_for: Duration,
) -> Result<Delivery> {
    let now = format_timestamp(at);
    let until = format_timestamp(at + TimeDelta::from_std(retry_for).unwrap_or(TimeDelta::MAX));
    let updated = tx.execute(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?3,
             retry_until = ?4, updated_at = ?3
         WHERE id = ?1 AND webhook_id = ?2",
        params![delivery_id, webhook_id, now, until],
    )?;
    if updated == 0 {
        queue_again(tx, webhook_id, delivery_id, at, retry_for)?;
    }
    Ok(tx.query_row(
        "SELECT id, seq, event, collection, state, attempts, next_attempt_at, created_at
         FROM webhook_deliveries WHERE id = ?1",
        [delivery_id],
        |row| {
            Ok(Delivery {
                id: row.get(0)?,
                seq: row.get(1)?,
                event: row.get(2)?,
                collection: row.get(3)?,
                state: DeliveryState::parse(&row.get::<_, String>(4)?)?,
                attempts: row.get(5)?,
                next_attempt_at: parse_optional_timestamp(row.get(6)?)?,
                created_at: parse_timestamp(&row.get::<_, String>(7)?)?,
            })
        },
    )?)
}

/// Puts a delivery that succeeded at its first attempt (so it is only in the attempt log)
/// into the outbox again, due at `at`.
fn queue_again(
    tx: &Transaction<'_>,
    webhook_id: &str,
    delivery_id: &str,
    at: DateTime<Utc>,
    retry_for: Duration,
) -> Result<()> {
    let logged: Option<(i64, i64)> = tx
        .query_row(
            "SELECT seq, COUNT(*) FROM webhook_attempts WHERE webhook_id = ?1 AND delivery_id = ?2
             GROUP BY seq",
            params![webhook_id, delivery_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((seq, attempts)) = logged else {
        return Err(Error::not_found(
            "this webhook has no delivery with this id",
        ));
    };
    let Some(change) = changes::read_one(tx, seq)? else {
        return Err(Error::not_found(
            "this delivery's change is no longer in the change log, so it cannot be sent again",
        ));
    };
    let due = Due {
        attempts,
        retry_until: at + TimeDelta::from_std(retry_for).unwrap_or(TimeDelta::MAX),
        queued: true,
        ..Due::of_change(delivery_id.to_owned(), &change, retry_for)?
    };
    queue(tx, webhook_id, &due, "pending", Some(at), at)
}

/// Deletes finished deliveries and logged attempts last changed before `cutoff`.
pub(crate) fn prune_finished(tx: &Transaction<'_>, cutoff: DateTime<Utc>) -> Result<usize> {
    let cutoff = format_timestamp(cutoff);
    let deliveries = tx.execute(
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ?1",
        [&cutoff],
    )?;
    // An attempt of a delivery still pending stays with it.
    let attempts = tx.execute(
        "DELETE FROM webhook_attempts WHERE created_at < ?1
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                             WHERE d.id = delivery_id AND d.state = 'pending')",
        [&cutoff],
    )?;
    Ok(deliveries + attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_an_hour() {
        let initial = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=12)
            .map(|n| retry_delay(initial, n).as_secs())
            .collect();
        assert_eq!(
            delays,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]
        );
        assert_eq!(retry_delay(initial, i64::MAX).as_secs(), 3600);
        assert_eq!(retry_delay(initial, 0).as_secs(), 10);
    }
}
