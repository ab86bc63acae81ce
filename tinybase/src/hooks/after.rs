//! `after_*` hooks: run after commit, from the change log, never on the write path.
//!
//! One task follows the change log. Each `after_*` record hook has a row in `hook_state`
//! holding the seq of the last change it handled; the task runs the hooks for each newer
//! change, then moves their rows on in one write per page. A crash between running a
//! hook and moving its row on runs that change again after the restart: delivery is
//! at-least-once (use [`RecordChange::seq`] to make a hook idempotent). A failing hook is
//! logged and its failure recorded in its row; the task then moves on, so one broken hook
//! never holds up the others.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use super::{AuthEvent, HookContext, HookDescriptor, HookEvent, HookHandler, Hooks, RecordChange};
use crate::Result;
use crate::auth::users::User;
use crate::changes::{self, Change, ChangeAction};
use crate::collections::Service;
use crate::constants::{AFTER_HOOK_PAGE, AFTER_HOOK_TIMEOUT_SECS};
use crate::db::{Database, format_timestamp, now, parse_optional_timestamp};

/// A hook and how it fared, for the admin API.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct HookStatus {
    /// The hook's name.
    pub name: String,
    /// `before_create`, `after_create`, …
    pub event: String,
    /// The collection it watches; null for account events.
    pub collection: Option<String>,
    /// Where it is defined: `file:line`.
    pub location: String,
    /// False when the collection does not exist (yet): the hook cannot run.
    pub collection_exists: bool,
    /// For `after_*` record hooks: the seq of the last change handled.
    pub seq: Option<i64>,
    /// How many times an `after_*` hook ran.
    pub runs: i64,
    /// How many of those runs failed.
    pub failures: i64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the hook last ran.
    pub last_run_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Gives every `after_*` record hook that has none a row starting at the newest change,
/// so it runs for writes from now on (not for the history before it existed). Called at
/// start-up, before any write of this process.
///
/// # Errors
/// Database errors.
pub async fn register_cursors(db: &Database, hooks: &Hooks) -> Result<()> {
    let names: Vec<&'static str> = hooks.all().map(|hook| hook.name).collect();
    if names.is_empty() {
        return Ok(());
    }
    db.write(move |tx| {
        let latest = changes::latest_seq(tx)?;
        for name in names {
            tx.execute(
                "INSERT OR IGNORE INTO hook_state (name, seq) VALUES (?1, ?2)",
                params![name, latest],
            )?;
        }
        Ok(())
    })
    .await
}

/// Every hook with its state, sorted by name.
///
/// # Errors
/// Database errors.
pub async fn statuses(
    db: &Database,
    hooks: &Hooks,
    collections: &Service,
) -> Result<Vec<HookStatus>> {
    let rows = db.read(read_states).await?;
    Ok(hooks
        .all()
        .map(|hook| {
            let state = rows.iter().find(|row| row.name == hook.name);
            HookStatus {
                name: hook.name.to_owned(),
                event: hook.event.as_str().to_owned(),
                collection: (!hook.event.is_auth()).then(|| hook.collection.to_owned()),
                location: hook.location(),
                collection_exists: hook.event.is_auth()
                    || collections.loaded(hook.collection).is_some(),
                seq: state
                    .filter(|_| matches!(hook.handler, HookHandler::After(_)))
                    .map(|s| s.seq),
                runs: state.map_or(0, |s| s.runs),
                failures: state.map_or(0, |s| s.failures),
                last_error: state.and_then(|s| s.last_error.clone()),
                last_error_at: state.and_then(|s| s.last_error_at),
                last_run_at: state.and_then(|s| s.last_run_at),
            }
        })
        .collect())
}

struct StateRow {
    name: String,
    seq: i64,
    runs: i64,
    failures: i64,
    last_error: Option<String>,
    last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    last_run_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn read_states(conn: &Connection) -> Result<Vec<StateRow>> {
    let mut stmt = conn.prepare(
        "SELECT name, seq, runs, failures, last_error, last_error_at, last_run_at
         FROM hook_state ORDER BY name",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(StateRow {
            name: row.get(0)?,
            seq: row.get(1)?,
            runs: row.get(2)?,
            failures: row.get(3)?,
            last_error: row.get(4)?,
            last_error_at: parse_optional_timestamp(row.get(5)?)?,
            last_run_at: parse_optional_timestamp(row.get(6)?)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The outcome of running one hook on one event, to record.
struct Ran {
    name: &'static str,
    error: Option<String>,
}

/// Follows the change log and runs the `after_*` record hooks until `stop` turns true.
pub async fn run(
    db: Database,
    collections: Service,
    hooks: Arc<Hooks>,
    stop: watch::Receiver<bool>,
) {
    let after: Vec<&'static HookDescriptor> = hooks
        .all()
        .filter(|hook| matches!(hook.handler, HookHandler::After(_)))
        .collect();
    if after.is_empty() {
        return;
    }
    let mut stop = stop;
    let mut feed = collections.change_feed().subscribe();
    loop {
        match run_pending(&db, &collections, &after).await {
            // A full page: more may be waiting.
            Ok(true) => continue,
            Ok(false) => {}
            Err(err) => {
                tracing::error!(%err, "after-hooks could not follow the change log; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tokio::select! {
            changed = feed.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Runs the hooks for one page of changes; true when the page was full.
async fn run_pending(
    db: &Database,
    collections: &Service,
    after: &[&'static HookDescriptor],
) -> Result<bool> {
    let names: Vec<&'static str> = after.iter().map(|hook| hook.name).collect();
    let (cursors, page) = db
        .read(move |conn| {
            let mut cursors = Vec::with_capacity(names.len());
            for name in names {
                let seq: Option<i64> = conn
                    .query_row(
                        "SELECT seq FROM hook_state WHERE name = ?1",
                        [name],
                        |row| row.get(0),
                    )
                    .optional()?;
                cursors.push(seq.unwrap_or(0));
            }
            let from = cursors.iter().copied().min().unwrap_or(0);
            Ok((cursors, changes::read_after(conn, from, AFTER_HOOK_PAGE)?))
        })
        .await?;
    let Some(last) = page.last().map(|change| change.seq) else {
        return Ok(false);
    };
    let mut ran = Vec::new();
    for change in &page {
        for (hook, cursor) in after.iter().zip(&cursors) {
            if change.seq > *cursor && applies(hook, change) {
                ran.push(run_one(hook, change, db, collections).await);
            }
        }
    }
    let names: Vec<&'static str> = after.iter().map(|hook| hook.name).collect();
    db.write(move |tx| {
        let at = format_timestamp(now());
        for name in names {
            tx.execute(
                "UPDATE hook_state SET seq = MAX(seq, ?2) WHERE name = ?1",
                params![name, last],
            )?;
        }
        for outcome in ran {
            match outcome.error {
                None => tx.execute(
                    "UPDATE hook_state SET runs = runs + 1, last_run_at = ?2 WHERE name = ?1",
                    params![outcome.name, at],
                )?,
                Some(error) => tx.execute(
                    "UPDATE hook_state SET runs = runs + 1, failures = failures + 1,
                     last_error = ?2, last_error_at = ?3, last_run_at = ?3 WHERE name = ?1",
                    params![outcome.name, error, at],
                )?,
            };
        }
        Ok(())
    })
    .await?;
    Ok(page.len() >= AFTER_HOOK_PAGE)
}

fn applies(hook: &HookDescriptor, change: &Change) -> bool {
    let event = match change.action {
        ChangeAction::Create => HookEvent::AfterCreate,
        ChangeAction::Update => HookEvent::AfterUpdate,
        ChangeAction::Delete => HookEvent::AfterDelete,
    };
    hook.event == event && hook.collection == change.collection
}

async fn run_one(
    hook: &'static HookDescriptor,
    change: &Change,
    db: &Database,
    collections: &Service,
) -> Ran {
    let HookHandler::After(handler) = hook.handler else {
        return Ran {
            name: hook.name,
            error: None,
        };
    };
    let record = match serde_json::from_str(&change.record) {
        Ok(record) => record,
        Err(err) => {
            return failed(hook, format!("the change's record is not JSON: {err}"));
        }
    };
    let event = RecordChange {
        seq: change.seq,
        action: change.action,
        collection: change.collection.clone(),
        record_id: change.record_id.clone(),
        record,
        at: change.at,
    };
    let ctx = HookContext {
        name: hook.name,
        db: db.clone(),
        collections: collections.clone(),
    };
    run_handler(hook, handler(ctx, event)).await
}

/// Runs an `after_register` / `after_login` hook for `user`, after the account write
/// committed. These do not come from the change log: a crash before they run loses them.
pub fn spawn_auth_hooks(
    hooks: &Arc<Hooks>,
    event: HookEvent,
    user: &User,
    db: &Database,
    collections: &Service,
) {
    let matching: Vec<&'static HookDescriptor> =
        hooks.all().filter(|hook| hook.event == event).collect();
    if matching.is_empty() {
        return;
    }
    let user = user.clone();
    let db = db.clone();
    let collections = collections.clone();
    tokio::spawn(async move {
        let at = now();
        for hook in matching {
            let HookHandler::Auth(handler) = hook.handler else {
                continue;
            };
            let ctx = HookContext {
                name: hook.name,
                db: db.clone(),
                collections: collections.clone(),
            };
            let event = AuthEvent {
                user: user.clone(),
                at,
            };
            let outcome = run_handler(hook, handler(ctx, event)).await;
            if let Err(err) = record_auth_outcome(&db, outcome).await {
                tracing::error!(%err, hook = hook.name, "could not record a hook's outcome");
            }
        }
    });
}

async fn record_auth_outcome(db: &Database, outcome: Ran) -> Result<()> {
    db.write(move |tx| {
        let at = format_timestamp(now());
        tx.execute(
            "INSERT INTO hook_state (name, seq, runs, failures, last_error, last_error_at, last_run_at)
             VALUES (?1, 0, 1, ?2, ?3, CASE WHEN ?3 IS NULL THEN NULL ELSE ?4 END, ?4)
             ON CONFLICT (name) DO UPDATE SET runs = runs + 1,
                 failures = failures + excluded.failures,
                 last_error = COALESCE(excluded.last_error, last_error),
                 last_error_at = COALESCE(excluded.last_error_at, last_error_at),
                 last_run_at = excluded.last_run_at",
            params![
                outcome.name,
                i64::from(outcome.error.is_some()),
                outcome.error,
                at
            ],
        )?;
        Ok(())
    })
    .await
}

/// Awaits a hook with a timeout, catching its panic: a broken hook is a failure to
/// record, not a dead runner.
async fn run_handler(
    hook: &'static HookDescriptor,
    future: crate::functions::BoxFuture<Result<()>>,
) -> Ran {
    let guarded = tokio::spawn(tokio::time::timeout(
        Duration::from_secs(AFTER_HOOK_TIMEOUT_SECS),
        future,
    ));
    match guarded.await {
        Ok(Ok(Ok(()))) => Ran {
            name: hook.name,
            error: None,
        },
        // Admins see it: the cause of an internal error included.
        Ok(Ok(Err(err))) => failed(hook, err.to_string()),
        Ok(Err(_)) => failed(hook, format!("timed out after {AFTER_HOOK_TIMEOUT_SECS} s")),
        Err(join) if join.is_panic() => failed(
            hook,
            format!(
                "panicked: {}",
                crate::error::panic_text(join.into_panic().as_ref())
            ),
        ),
        Err(join) => failed(hook, format!("was cancelled: {join}")),
    }
}

fn failed(hook: &'static HookDescriptor, error: String) -> Ran {
    tracing::error!(hook = hook.name, location = %hook.location(), %error, "a hook failed");
    Ran {
        name: hook.name,
        error: Some(error),
    }
}
