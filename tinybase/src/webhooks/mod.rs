//! Webhooks: committed record changes POSTed to URLs admins configure.
//!
//! Nothing here runs on the write path. After commits the change feed wakes one worker
//! per webhook, which reads the change log from the webhook's own cursor and sends what
//! the webhook gets one at a time, in commit order, so webhooks never hold each other up
//! and a slow receiver only delays itself. Every attempt is logged, with the cursor, in
//! one write per batch; a delivery that fails goes to the outbox (`webhook_deliveries`)
//! and is retried with exponential backoff for 24 hours (see [`outbox`]). A delivery
//! whose attempt was cut short by a crash is sent again after the restart, under the same
//! delivery id: delivery is at-least-once, and receivers deduplicate by that id.

pub mod outbox;
mod send;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use outbox::{Delivery, DeliveryAttempt, DeliveryState};
pub use send::signature;
pub use store::{NewWebhook, Webhook, WebhookChanges};

use crate::Result;
use crate::changes::{self, ChangeFeed};
use crate::collections::Service as Collections;
use crate::config::WebhookSettings;
use crate::db::{Database, now};
use crate::pagination::{Page, Pagination};

/// How long a failed delivery is retried, from when its change committed (or from a
/// redelivery).
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// How long finished deliveries and their attempts stay in the log.
const LOG_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long a worker waits after a database error before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// The longest a worker sleeps without looking at its outbox again.
const IDLE_RECHECK: Duration = Duration::from_secs(60 * 60);
/// The most deliveries a worker takes at once and logs in one write.
const SEND_BATCH: usize = 100;
/// How long a worker sends before it logs the attempts made so far.
const LOG_EVERY: Duration = Duration::from_secs(1);
/// The least time between two wake-ups of the workers by commits: under a stream of
/// commits, a worker takes every change since the last in one batch (and one log write)
/// instead of one per commit.
const WAKE_EVERY: Duration = Duration::from_millis(20);

/// The webhook deliverer of one server. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// Webhooks name collections; changes are checked against the loaded ones.
    collections: Collections,
    client: oauth_http::Client,
    initial_delay: Duration,
    /// Set by the admin API when webhooks change: workers start and stop to match.
    changed: Notify,
    workers: Mutex<HashMap<String, Worker>>,
}

/// One webhook's sender.
struct Worker {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Webhooks {
    /// A deliverer over `db` for record changes of `collections`, with these settings; it
    /// sends nothing until [`Self::start`].
    pub fn new(db: Database, collections: Collections, settings: &WebhookSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                collections,
                client: send::client(Duration::from_secs(settings.timeout_seconds)),
                initial_delay: Duration::from_millis(settings.retry_initial_delay_ms),
                changed: Notify::new(),
                workers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Starts delivering on a thread of its own (see the module docs); it stops when the
    /// returned handle is stopped or dropped.
    ///
    /// # Errors
    /// When the thread or its runtime cannot start.
    pub fn start(&self, feed: ChangeFeed) -> Result<Delivering> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("tinybase-webhooks")
            .build()?;
        let this = self.clone();
        let thread = std::thread::Builder::new()
            .name("tinybase-webhooks".into())
            .spawn(move || {
                lower_priority();
                runtime.block_on(async move {
                    tokio::select! {
                        () = this.run(feed) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Delivering {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Creates a webhook; it gets the changes that commit from now on.
    ///
    /// # Errors
    /// 422 listing every problem (URL, collections, events, secret).
    pub async fn create(&self, new: NewWebhook) -> Result<Webhook> {
        let webhook = store::create(&self.inner.db, &self.inner.collections, new).await?;
        self.changed();
        Ok(webhook)
    }

    /// One webhook.
    ///
    /// # Errors
    /// 404 when there is none with this id.
    pub async fn get(&self, id: &str) -> Result<Webhook> {
        store::get(&self.inner.db, id).await
    }

    /// A page of webhooks, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(&self, page: Pagination) -> Result<Page<Webhook>> {
        store::list(&self.inner.db, page).await
    }

    /// Applies `changes` to a webhook; returns it as it now is.
    ///
    /// # Errors
    /// 404 when there is none with this id; 422 listing every problem.
    pub async fn update(&self, id: &str, changes: WebhookChanges) -> Result<Webhook> {
        let webhook = store::update(&self.inner.db, &self.inner.collections, id, changes).await?;
        self.changed();
        Ok(webhook)
    }

    /// Deletes a webhook with its pending deliveries and its delivery log.
    ///
    /// # Errors
    /// 404 when there is none with this id.
    pub async fn delete(&self, id: &str) -> Result<()> {
        store::delete(&self.inner.db, id).await?;
        self.changed();
        Ok(())
    }

    /// Tells the deliverer that webhooks were created, changed or deleted, so workers
    /// start and stop to match.
    fn changed(&self) {
        self.inner.changed.notify_one();
    }

    fn workers(&self) -> MutexGuard<'_, HashMap<String, Worker>> {
        // A panic while holding this lock leaves the map itself intact.
        self.inner
            .workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wake(&self, webhook_id: &str) {
        if let Some(worker) = self.workers().get(webhook_id) {
            worker.wake.notify_one();
        }
    }

    async fn run(self, feed: ChangeFeed) {
        let _stop_workers = StopWorkers(self.clone());
        let mut committed = feed.subscribe();
        self.sync_workers().await;
        loop {
            let woken = tokio::time::Instant::now();
            for worker in self.workers().values() {
                worker.wake.notify_one();
            }
            tokio::select! {
                changed = committed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    tokio::time::sleep_until(woken + WAKE_EVERY).await;
                }
                () = self.inner.changed.notified() => self.sync_workers().await,
            }
        }
    }

    /// Starts a worker for each webhook without one and stops those of deleted webhooks.
    async fn sync_workers(&self) {
        let ids = match self.inner.db.read(store::all_ids).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(%err, "webhooks: cannot list the webhooks");
                return;
            }
        };
        let mut workers = self.workers();
        workers.retain(|id, worker| {
            let keep = ids.contains(id);
            if !keep {
                worker.task.abort();
            }
            keep
        });
        for id in ids {
            if let Some(worker) = workers.get(&id) {
                // It may have been re-activated or pointed elsewhere: look again.
                worker.wake.notify_one();
                continue;
            }
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(self.clone().work(id.clone(), Arc::clone(&wake)));
            workers.insert(id, Worker { wake, task });
        }
    }

    /// Sends one webhook's deliveries as they fall due, until aborted.
    async fn work(self, webhook_id: String, wake: Arc<Notify>) {
        // Changes up to here are dealt with; ahead of the stored cursor when the changes
        // read since did not concern this webhook (not worth a write of their own).
        let mut cursor = 0;
        loop {
            let pause = match self.send_next(&webhook_id, &mut cursor).await {
                Ok(None) => continue,
                Ok(Some(pause)) => pause,
                Err(err) => {
                    tracing::warn!(webhook = %webhook_id, %err, "webhooks: delivery failed");
                    ERROR_PAUSE
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = wake.notified() => {}
            }
        }
    }

    /// Sends the webhook's due retries and the changes after `cursor` it gets (up to
    /// [`SEND_BATCH`] in all, for about [`LOG_EVERY`]) one after another, then logs their
    /// attempts and the new cursor in one write; or, when nothing is due, says how long
    /// to wait.
    ///
    /// Logging a batch at a time rather than each attempt keeps deliveries from taking a
    /// write on the single writer per delivery, which would compete with record writes;
    /// a delivery that succeeds at once adds one row to the attempt log and nothing else.
    /// A crash before the log is written sends the batch again after the restart, which
    /// at-least-once delivery allows.
    async fn send_next(&self, webhook_id: &str, cursor: &mut i64) -> Result<Option<Duration>> {
        let id = webhook_id.to_owned();
        let after = *cursor;
        let at = now();
        let found = self
            .inner
            .db
            .read(move |conn| {
                let Some(target) = store::target(conn, &id)? else {
                    return Ok(None);
                };
                if !target.is_active {
                    return Ok(Some((target, Vec::new(), None, None)));
                }
                let retries = outbox::next_due(conn, &id, at, SEND_BATCH)?;
                let room = SEND_BATCH - retries.len();
                let read_from = target.read_from().max(after);
                let fresh = match room {
                    0 => None,
                    _ => Some(outbox::fresh(
                        conn, &id, &target, read_from, room, RETRY_FOR,
                    )?),
                };
                let next_retry_at = match retries.is_empty() {
                    true => outbox::next_due_at(conn, &id)?,
                    false => None,
                };
                Ok(Some((target, retries, fresh, next_retry_at)))
            })
            .await?;
        let Some((target, retries, fresh, next_retry_at)) = found else {
            // Deleted: the next sync stops this worker.
            return Ok(Some(IDLE_RECHECK));
        };
        *cursor = (*cursor).max(target.read_from());
        let (fresh_due, read_to, more) = match fresh {
            Some(fresh) => (fresh.due, fresh.read_to, fresh.more),
            None => (Vec::new(), None, true),
        };
        if retries.is_empty() && fresh_due.is_empty() {
            if let Some(read_to) = read_to {
                *cursor = (*cursor).max(read_to);
            }
            if more {
                return Ok(None);
            }
            let pause = next_retry_at
                .and_then(|next| (next - now()).to_std().ok())
                .map_or(IDLE_RECHECK, |wait| wait.min(IDLE_RECHECK));
            return Ok(Some(pause));
        }
        let due_count = retries.len() + fresh_due.len();
        let started = Instant::now();
        let mut attempts = Vec::with_capacity(due_count);
        for due in retries.into_iter().chain(fresh_due) {
            let outcome = send::attempt(&self.inner.client, &target, &due).await;
            if let Some(error) = &outcome.error {
                tracing::info!(
                    webhook = %webhook_id,
                    delivery = %due.id,
                    attempt = due.attempts + 1,
                    %error,
                    "webhook delivery attempt failed"
                );
            }
            attempts.push((due, outcome, now()));
            // A slow or failing receiver must not keep its attempts out of the log (and
            // the admin's view) for long: what is left stays due and comes next.
            if started.elapsed() >= LOG_EVERY {
                break;
            }
        }
        // Dealt with: everything read when all was sent, else up to the last fresh
        // change sent (retries come first, fresh changes in commit order; the unwanted
        // changes after it are read again).
        let dealt_to = if attempts.len() == due_count {
            read_to
        } else {
            attempts
                .iter()
                .rev()
                .find(|(due, ..)| !due.queued)
                .map(|(due, ..)| due.seq)
        };
        if let Some(seq) = dealt_to {
            *cursor = (*cursor).max(seq);
        }
        let webhook_id = webhook_id.to_owned();
        let initial_delay = self.inner.initial_delay;
        let sent_to = *cursor;
        self.inner
            .db
            .write(move |tx| {
                for (due, outcome, at) in &attempts {
                    outbox::record_attempt(tx, &webhook_id, due, outcome, *at, initial_delay)?;
                }
                outbox::advance_cursor(tx, &webhook_id, sent_to)
            })
            .await?;
        Ok(None)
    }

    /// A page of a webhook's delivery attempts, newest first.
    ///
    /// # Errors
    /// 404 when there is no such webhook.
    pub async fn attempts(
        &self,
        webhook_id: &str,
        page: Pagination,
    ) -> Result<Page<DeliveryAttempt>> {
        store::get(&self.inner.db, webhook_id).await?;
        let id = webhook_id.to_owned();
        self.inner
            .db
            .read(move |conn| outbox::attempts(conn, &id, page))
            .await
    }

    /// Sends a delivery again now (same body, same delivery id), retried for another 24
    /// hours if it fails.
    ///
    /// # Errors
    /// 404 when the webhook has no such delivery.
    pub async fn redeliver(&self, webhook_id: &str, delivery_id: &str) -> Result<Delivery> {
        let (id, delivery) = (webhook_id.to_owned(), delivery_id.to_owned());
        let redelivered = self
            .inner
            .db
            .write(move |tx| outbox::redeliver(tx, &id, &delivery, now(), RETRY_FOR))
            .await?;
        self.wake(webhook_id);
        Ok(redelivered)
    }

    /// Deletes finished deliveries and attempts older than a week.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_log(&self) -> Result<usize> {
        let cutoff = now() - chrono::TimeDelta::from_std(LOG_RETENTION).unwrap_or_default();
        self.inner
            .db
            .write(move |tx| outbox::prune_finished(tx, cutoff))
            .await
    }

    /// Prunes the change log like [`changes::prune`], first copying the changes about to
    /// go that a webhook has not been sent yet into its outbox.
    ///
    /// # Errors
    /// Database errors (nothing is pruned then).
    pub async fn prune_change_log(&self, max_age_days: u32, max_rows: u64) -> Result<usize> {
        let pruned =
            changes::prune_with(&self.inner.db, max_age_days, max_rows, |tx, first_kept| {
                let kept = outbox::keep_unsent(tx, first_kept, now(), RETRY_FOR)?;
                if kept > 0 {
                    tracing::info!(
                        count = kept,
                        "webhooks: changes about to leave the change log kept for delivery"
                    );
                }
                Ok(())
            })
            .await?;
        for worker in self.workers().values() {
            worker.wake.notify_one();
        }
        Ok(pruned)
    }
}

/// The running deliverer; stopping or dropping it ends delivery.
pub struct Delivering {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Delivering {
    /// Ends delivery and waits for its thread: attempts in flight are cut off (and sent
    /// again after a restart: at-least-once).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("webhooks: the delivery thread panicked");
        }
    }
}

impl Drop for Delivering {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Gives the calling thread (and the threads it starts, which inherit it) the lowest CPU
/// priority, nice 19. Failing to is harmless: delivery then competes as an equal.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // On Linux a thread id names one thread for `setpriority(PRIO_PROCESS, …)`.
        let tid = rustix::thread::gettid();
        if let Err(err) = rustix::process::setpriority_process(Some(tid), 19) {
            tracing::debug!(%err, "webhooks: cannot lower the delivery thread's priority");
        }
    }
}

/// Stops every worker when the task that wakes them ends (or is aborted).
struct StopWorkers(Webhooks);

impl Drop for StopWorkers {
    fn drop(&mut self) {
        for (_, worker) in self.0.workers().drain() {
            worker.task.abort();
        }
    }
}
