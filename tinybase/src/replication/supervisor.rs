//! Runs `litestream replicate` beside the server for as long as it serves.
//!
//! The child is restarted when it exits on its own, after a pause that doubles with each
//! quick failure (1 s up to a minute) so a replica that is down is not hammered; every
//! exit is logged. Its log lines are passed on to TinyBase's log. On shutdown it gets
//! SIGTERM, on which Litestream ships what it has not shipped yet before exiting (for at
//! most [`SHUTDOWN_SYNC_TIMEOUT`]); it is killed only if it overstays that.
//!
//! While the child runs, checkpoints are Litestream's: it keeps a read transaction open
//! so that no one else can checkpoint past what it has shipped, and checkpoints itself
//! once it has. TinyBase's own TRUNCATE checkpoints would only wait out the busy timeout
//! (holding up every write meanwhile) and fail, and SQLite's automatic checkpoints
//! after commits could race Litestream's, which makes it ship a whole new snapshot. So
//! both stop while the child runs ([`Replication::running`] tells the checkpoint task;
//! the writer's `wal_autocheckpoint` is switched off), and both resume while it is down,
//! so the log stays bounded even if Litestream cannot start.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::leftover;
use super::litestream::{Litestream, SHUTDOWN_SYNC_TIMEOUT};
use super::supervision::Supervision;
use crate::Result;
use crate::db::Database;

/// The first pause before a restart.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A child that ran this long was healthy: the next failure starts the backoff afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// Litestream starts tracking the database at its first check of the log, a second
/// after it starts; asked to stop before that, it ships nothing. So it is never asked
/// to stop before it has run this long.
const FIRST_SYNC: Duration = Duration::from_millis(2500);
/// Beyond Litestream's own shutdown sync timeout, how long it may take to exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The running supervisor. Stop it with [`Replication::stop`] and wait, so the last
/// writes are shipped before the process exits; dropping it asks the child to stop too,
/// without waiting.
pub struct Replication {
    stop: watch::Sender<bool>,
    running: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Replication {
    /// Starts `litestream replicate` for `db` and keeps it running.
    ///
    /// # Errors
    /// When the configuration cannot be written or Litestream cannot be started at all
    /// (later exits are restarted, not reported).
    pub(crate) async fn start(
        litestream: Litestream,
        db: Database,
        supervision: Supervision,
    ) -> Result<Self> {
        leftover::stop(
            &litestream.config_path(),
            SHUTDOWN_SYNC_TIMEOUT + EXIT_GRACE,
        )
        .await;
        litestream.write_config()?;
        let child = spawn(&litestream)?;
        let (stop, stopping) = watch::channel(false);
        let (running_tx, running) = watch::channel(false);
        let task = tokio::spawn(supervise(
            litestream,
            Reporter {
                db,
                running: running_tx,
                supervision,
            },
            child,
            stopping,
        ));
        Ok(Self {
            stop,
            running,
            task,
        })
    }

    /// Whether Litestream runs right now (and so owns checkpoints).
    pub(crate) fn running(&self) -> watch::Receiver<bool> {
        self.running.clone()
    }

    /// Asks Litestream to ship what is left and stop, and waits until it has.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!(%err, "the Litestream supervisor failed");
        }
    }
}

fn spawn(litestream: &Litestream) -> Result<Child> {
    let mut child = litestream
        .command("replicate")
        .spawn()
        .map_err(|err| litestream.spawn_error(&err))?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_log(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_log(err));
    }
    leftover::note(&litestream.config_path(), child.id());
    tracing::info!(
        pid = child.id(),
        replica = %litestream.replica_url(),
        "Litestream started"
    );
    Ok(child)
}

/// Where the supervisor reports whether Litestream runs: the writer's automatic
/// checkpoints, the checkpoint task and the admin API.
struct Reporter {
    db: Database,
    running: watch::Sender<bool>,
    supervision: Supervision,
}

async fn supervise(
    litestream: Litestream,
    reporter: Reporter,
    first: Child,
    mut stopping: watch::Receiver<bool>,
) {
    let mut child = Some(first);
    let mut backoff = MIN_BACKOFF;
    loop {
        if let Some(mut current) = child.take() {
            let started = Instant::now();
            reporter.hand_checkpoints(true).await;
            tokio::select! {
                status = current.wait() => {
                    leftover::forget(&litestream.config_path());
                    reporter.hand_checkpoints(false).await;
                    if started.elapsed() >= HEALTHY_RUN {
                        backoff = MIN_BACKOFF;
                    }
                    reporter.supervision.exited(match &status {
                        Ok(status) => status.to_string(),
                        Err(err) => err.to_string(),
                    });
                    match status {
                        Ok(status) => tracing::warn!(
                            %status,
                            restart_in_ms = backoff.as_millis(),
                            "Litestream stopped unexpectedly; restarting it"
                        ),
                        Err(err) => tracing::error!(
                            %err,
                            restart_in_ms = backoff.as_millis(),
                            "lost track of Litestream; restarting it"
                        ),
                    }
                }
                _ = stopping.changed() => {
                    tokio::time::sleep_until(started + FIRST_SYNC).await;
                    terminate(&mut current).await;
                    leftover::forget(&litestream.config_path());
                    reporter.hand_checkpoints(false).await;
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stopping.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        reporter.supervision.restarted();
        match spawn(&litestream) {
            Ok(started) => child = Some(started),
            Err(err) => tracing::error!(
                %err,
                retry_in_ms = backoff.as_millis(),
                "cannot restart Litestream"
            ),
        }
    }
}

impl Reporter {
    /// Gives checkpoints to Litestream (`true`) or takes them back, and says so.
    async fn hand_checkpoints(&self, to_litestream: bool) {
        if let Err(err) = self.db.set_auto_checkpoint(!to_litestream).await {
            tracing::warn!(%err, "could not switch SQLite's automatic checkpoints");
        }
        let _ = self.running.send(to_litestream);
        self.supervision.set_running(to_litestream);
    }
}

/// Asks the child to stop (SIGTERM: it ships the last writes first) and waits; kills it
/// if it takes longer than its own shutdown sync may.
async fn terminate(child: &mut Child) {
    ask_to_stop(child);
    let patience = SHUTDOWN_SYNC_TIMEOUT + EXIT_GRACE;
    match tokio::time::timeout(patience, child.wait()).await {
        Ok(Ok(status)) => log_exit(status),
        Ok(Err(err)) => tracing::warn!(%err, "could not wait for Litestream to stop"),
        Err(_) => {
            tracing::warn!(
                patience_s = patience.as_secs(),
                "Litestream did not stop in time; killing it (recent writes may not be shipped)"
            );
            let _ = child.kill().await;
        }
    }
}

fn log_exit(status: ExitStatus) {
    if status.success() {
        tracing::info!("Litestream stopped after shipping the last writes");
    } else {
        tracing::warn!(%status, "Litestream stopped with an error; see its log above");
    }
}

#[cfg(unix)]
pub(super) fn ask_to_stop(child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let signalled = pid.is_some_and(|pid| kill_process(pid, Signal::TERM).is_ok());
    if !signalled {
        // Already gone, or no pid to signal: nothing is left to ship gracefully.
        let _ = child.start_kill();
    }
}

#[cfg(not(unix))]
pub(super) fn ask_to_stop(child: &mut Child) {
    let _ = child.start_kill();
}

/// Passes Litestream's log lines (`time=… level=INFO msg=… …`) on to TinyBase's log at
/// their own level.
pub(super) async fn forward_log(stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let text = line
            .split_once(' ')
            .filter(|(first, _)| first.starts_with("time="))
            .map_or(line.as_str(), |(_, rest)| rest);
        let level = text
            .split_whitespace()
            .find_map(|field| field.strip_prefix("level="))
            .unwrap_or("INFO");
        match level {
            "ERROR" => tracing::error!(target: "litestream", "{text}"),
            "WARN" => tracing::warn!(target: "litestream", "{text}"),
            "DEBUG" => tracing::debug!(target: "litestream", "{text}"),
            _ => tracing::info!(target: "litestream", "{text}"),
        }
    }
}
