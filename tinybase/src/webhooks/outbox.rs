//! The outbox: committed changes copied into per-webhook deliveries, the attempts made
//! for them, and the delivery log the API shows.
//!
//! Fan-out reads the change log and writes the deliveries and its cursor in one write
//! transaction, so after a crash it resumes exactly where it stopped: no change is copied
//! twice or skipped. Sending then works from the outbox alone, so a delivery survives the
//! change log being pruned.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::changes::{self, Change};
use crate::db::{format_timestamp, parse_optional_timestamp, parse_timestamp};
use crate::pagination::{Page, Pagination};
use crate::{Error, Result};

/// The most changes one fan-out transaction reads.
pub(crate) const FAN_OUT_BATCH: usize = 500;
/// The longest wait between two retries.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);

/// A webhook as fan-out matches it.
struct Subscriber {
    id: String,
    collections: Vec<String>,
    events: Vec<String>,
    after_seq: i64,
}

impl Subscriber {
    fn wants(&self, change: &Change) -> bool {
        change.seq > self.after_seq
            && self.events.iter().any(|e| e == change.action.as_str())
            && self.collections.contains(&change.collection)
    }
}

fn active_subscribers(conn: &Connection) -> Result<Vec<Subscriber>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, collections, events, after_seq FROM webhooks WHERE is_active = 1",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })?;
    let mut subscribers = Vec::new();
    for row in rows {
        let (id, collections, events, after_seq) = row?;
        subscribers.push(Subscriber {
            id,
            collections: serde_json::from_str(&collections)?,
            events: serde_json::from_str(&events)?,
            after_seq,
        });
    }
    Ok(subscribers)
}

/// The seq fan-out has read up to, as last stored.
pub(crate) fn stored_cursor(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT seq FROM webhook_cursor WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?)
}

/// Whether any webhook is active: without one, fan-out has nothing to write.
pub(crate) fn any_active(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE is_active = 1)",
        [],
        |row| row.get(0),
    )?)
}

/// What one fan-out pass did.
pub(crate) struct FannedOut {
    /// The newest seq read (the new cursor), if any change was read.
    pub(crate) last_seq: Option<i64>,
    /// How many changes were read.
    pub(crate) read: usize,
    /// The webhooks that got new deliveries.
    pub(crate) webhooks: Vec<String>,
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

/// Copies the changes after `after` (one batch) into deliveries for every active webhook
/// that wants them, due now, retried until `retry_for` from now; stores the cursor.
pub(crate) fn fan_out(
    tx: &Transaction<'_>,
    after: i64,
    at: DateTime<Utc>,
    retry_for: Duration,
) -> Result<FannedOut> {
    let subscribers = active_subscribers(tx)?;
    // Nothing committed before the oldest active webhook began can match: skip it.
    let after = subscribers
        .iter()
        .map(|s| s.after_seq)
        .min()
        .map_or(after, |oldest| after.max(oldest));
    let batch = changes::read_after(tx, after, FAN_OUT_BATCH)?;
    let Some(last_seq) = batch.last().map(|c| c.seq) else {
        return Ok(FannedOut {
            last_seq: None,
            read: 0,
            webhooks: Vec::new(),
        });
    };
    let now = format_timestamp(at);
    let until = format_timestamp(at + TimeDelta::from_std(retry_for).unwrap_or(TimeDelta::MAX));
    let mut insert = tx.prepare_cached(
        "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, collection, body, state,
             attempts, next_attempt_at, retry_until, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8, ?7, ?7)",
    )?;
    let mut woken = Vec::new();
    for change in &batch {
        for subscriber in subscribers.iter().filter(|s| s.wants(change)) {
            let id = Uuid::now_v7().to_string();
            insert.execute(params![
                id,
                subscriber.id,
                change.seq,
                change.action.as_str(),
                change.collection,
                body(&id, change)?,
                now,
                until,
            ])?;
            if !woken.contains(&subscriber.id) {
                woken.push(subscriber.id.clone());
            }
        }
    }
    tx.execute(
        "INSERT INTO webhook_cursor (id, seq) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
        [last_seq],
    )?;
    Ok(FannedOut {
        last_seq: Some(last_seq),
        read: batch.len(),
        webhooks: woken,
    })
}

/// A delivery whose next attempt is due.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) body: String,
    pub(crate) attempts: i64,
    pub(crate) retry_until: DateTime<Utc>,
}

/// The webhook's first `limit` due deliveries, in the order to send them: oldest due
/// time, then change order. First attempts thus go out in commit order; a retry waits its
/// turn by its due time.
pub(crate) fn next_due(
    conn: &Connection,
    webhook_id: &str,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, event, body, attempts, retry_until FROM webhook_deliveries
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
                    event: row.get(1)?,
                    body: row.get(2)?,
                    attempts: row.get(3)?,
                    retry_until: parse_timestamp(&row.get::<_, String>(4)?)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(due)
}

/// When the webhook's next pending delivery is due, if it has one.
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
/// later, or failed for good once the next try would start after `retry_until`.
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
        ("pending", Some(format_timestamp(next)))
    };
    let now = format_timestamp(at);
    let updated = tx
        .prepare_cached(
            "UPDATE webhook_deliveries SET attempts = ?2, state = ?3, next_attempt_at = ?4,
                 updated_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![due.id, attempt, state, next_attempt_at, now])?;
    if updated == 0 {
        // Deleted with its webhook while the attempt ran: nothing to log it under.
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO webhook_attempts (id, delivery_id, webhook_id, attempt, status_code, error,
             duration_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        Uuid::now_v7().to_string(),
        due.id,
        webhook_id,
        attempt,
        outcome.status_code,
        outcome.error,
        outcome.duration_ms,
        now,
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
        "SELECT a.id, a.delivery_id, d.seq, d.event, d.collection, a.status_code, a.error,
                a.attempt, a.duration_ms, a.created_at, d.state, d.next_attempt_at
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
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
/// the same body goes out again under the same delivery id.
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
        return Err(Error::not_found(
            "this webhook has no delivery with this id",
        ));
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

/// Deletes finished deliveries (with their attempts) last changed before `cutoff`.
pub(crate) fn prune_finished(tx: &Transaction<'_>, cutoff: DateTime<Utc>) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ?1",
        [format_timestamp(cutoff)],
    )?)
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
