//! The scheduler: one task that sleeps until the earliest due schedule (or a change),
//! claims due schedules atomically, runs them and computes their next run.
//!
//! Claiming sets `running_since` inside one `IMMEDIATE` transaction, so a schedule is
//! claimed by one process at a time, and a run never overlaps the previous run of the same
//! schedule. A schedule that fell due several times while the server was down runs once:
//! its next run is counted from the time the run started, and slots already past when it
//! finishes are skipped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::ScheduleConfig;
use crate::Result;
use crate::auth::Caller;
use crate::db::{Database, format_timestamp, now, parse_timestamp};
use crate::functions::{Executor, Invocation, Trigger};

/// How long shutdown waits for runs in progress before leaving them to be marked
/// interrupted at the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Wakes the scheduler when schedules change, so a new or moved schedule is noticed
/// without waiting for the next poll.
#[derive(Clone, Default)]
pub struct SchedulerHandle {
    wake: Arc<Notify>,
}

impl SchedulerHandle {
    /// Tells the scheduler that schedules changed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// A claimed schedule, ready to run.
struct DueRun {
    id: String,
    function_name: String,
    input: Value,
}

/// Runs schedules until `stop` turns true.
pub struct Scheduler {
    db: Database,
    executor: Executor,
    handle: SchedulerHandle,
    poll: Duration,
}

impl Scheduler {
    /// A scheduler that also polls every `poll` (catching changes made by other processes).
    pub fn new(db: Database, executor: Executor, handle: SchedulerHandle, poll: Duration) -> Self {
        Self {
            db,
            executor,
            handle,
            poll,
        }
    }

    /// Frees schedules claimed by a process that died mid-run. Run at start-up.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn release_stale_claims(db: &Database) -> Result<usize> {
        db.write(|tx| {
            Ok(tx.execute(
                "UPDATE function_schedules SET running_since = NULL WHERE running_since IS NOT NULL",
                [],
            )?)
        })
        .await
    }

    /// The scheduler loop. Returns after `stop` becomes true and runs in progress finish
    /// (or the grace period passes).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(poll_seconds = self.poll.as_secs(), "scheduler started");
        let mut runs = JoinSet::new();
        loop {
            match claim_due(&self.db, now()).await {
                Ok(due) => {
                    for run in due {
                        let db = self.db.clone();
                        let executor = self.executor.clone();
                        runs.spawn(async move { run_one(db, executor, run).await });
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "scheduler could not claim due schedules")
                }
            }
            // Reap finished runs so the set does not grow.
            while runs.try_join_next().is_some() {}

            let wait = match earliest_next_run(&self.db).await {
                Ok(Some(at)) => (at - now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.poll),
                Ok(None) => self.poll,
                Err(err) => {
                    tracing::error!(error = %err, "scheduler could not read the next run");
                    self.poll
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.handle.wake.notified() => {}
                Some(_) = runs.join_next(), if !runs.is_empty() => {}
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        if !runs.is_empty() {
            tracing::info!(count = runs.len(), "waiting for scheduled runs to finish");
            let drain = async { while runs.join_next().await.is_some() {} };
            if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
                tracing::warn!("scheduled runs still going at shutdown were stopped");
            }
        }
        tracing::info!("scheduler stopped");
    }
}

/// Claims every due schedule in one transaction.
async fn claim_due(db: &Database, at: DateTime<Utc>) -> Result<Vec<DueRun>> {
    let at = format_timestamp(at);
    db.write(move |tx| {
        let mut stmt = tx.prepare(
            "SELECT id, function_name, input FROM function_schedules
             WHERE is_active = 1 AND running_since IS NULL
               AND next_run_at IS NOT NULL AND next_run_at <= ?1
             ORDER BY next_run_at",
        )?;
        let due = stmt
            .query_map([&at], |row| {
                let input: Option<String> = row.get(2)?;
                Ok(DueRun {
                    id: row.get(0)?,
                    function_name: row.get(1)?,
                    input: input
                        .and_then(|text| serde_json::from_str(&text).ok())
                        .unwrap_or(Value::Null),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for run in &due {
            tx.execute(
                "UPDATE function_schedules SET running_since = ?2 WHERE id = ?1",
                params![run.id, at],
            )?;
        }
        Ok(due)
    })
    .await
}

async fn earliest_next_run(db: &Database) -> Result<Option<DateTime<Utc>>> {
    db.read(|conn| {
        let next: Option<String> = conn.query_row(
            "SELECT MIN(next_run_at) FROM function_schedules
             WHERE is_active = 1 AND running_since IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(next.map(|t| parse_timestamp(&t)).transpose()?)
    })
    .await
}

/// The next run counted from when this run started; slots that passed while it ran are
/// skipped (runs never overlap), so a run longer than the interval is followed by the
/// next slot after now, not by a burst of catch-up runs.
fn next_slot(
    config: &ScheduleConfig,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    id: &str,
) -> Option<DateTime<Utc>> {
    let next = config.next_run_after(started)?;
    if next > finished {
        return Some(next);
    }
    tracing::info!(schedule = %id, "skipped slots that passed while the previous run was going");
    config.next_run_after(finished)
}

/// Runs one claimed schedule, then records it and computes its next run from now.
async fn run_one(db: Database, executor: Executor, run: DueRun) {
    let started = now();
    let invocation = Invocation {
        trigger: Trigger::Schedule,
        trigger_id: Some(run.id.clone()),
        caller: Caller::system(),
        request_id: None,
    };
    let result = executor
        .call(&run.function_name, run.input, invocation)
        .await;
    // The next slot counts from the start the call record shows, so two recorded starts
    // are never closer than the interval.
    let started = result.started_at.unwrap_or(started);
    match &result.output {
        Ok(_) => {
            tracing::info!(schedule = %run.id, function = %run.function_name, "scheduled run succeeded")
        }
        Err(err) => tracing::warn!(
            schedule = %run.id,
            function = %run.function_name,
            error = %err,
            "scheduled run failed"
        ),
    }
    let id = run.id.clone();
    let finished = db
        .write(move |tx| {
            // Re-read: the schedule may have been changed or deleted while it ran.
            let current: Option<(String, bool)> = tx
                .query_row(
                    "SELECT schedule, is_active FROM function_schedules WHERE id = ?1",
                    [&id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let Some((config, is_active)) = current else {
                return Ok(());
            };
            let config: ScheduleConfig = serde_json::from_str(&config)?;
            let next = if is_active {
                next_slot(&config, started, now(), &id)
            } else {
                None
            };
            // A schedule with no further run (a once-schedule) switches itself off.
            let still_active = is_active && next.is_some();
            tx.execute(
                "UPDATE function_schedules SET running_since = NULL, last_run_at = ?2,
                     next_run_at = ?3, is_active = ?4, updated_at = ?5
                 WHERE id = ?1",
                params![
                    id,
                    format_timestamp(started),
                    next.map(format_timestamp),
                    still_active,
                    format_timestamp(now()),
                ],
            )?;
            Ok(())
        })
        .await;
    if let Err(err) = finished {
        tracing::error!(schedule = %run.id, error = %err, "could not record a scheduled run");
    }
}
