//! `serve --replica`: `litestream restore -f` keeps a local copy of the replica up to
//! date, and the server reads it.
//!
//! Follow mode (Litestream 0.5.9 and later) restores the database once, then polls the
//! replica and writes each new transaction's pages into the file, holding SQLite's
//! exclusive lock while it does so readers never see half a transaction. It notes the
//! last applied transaction in `<db>-txid`, and on a restart resumes from there.
//! Litestream's read-replica VFS was the other way, but it is a loadable extension
//! built with cgo that rusqlite's bundled SQLite cannot load.
//!
//! The follower rewrites the file from outside, so readers must use SQLite's rollback
//! journal locking (in WAL mode a reader keeps a shared lock for as long as it is open,
//! and Litestream would wait for it forever): the restored file is switched to
//! rollback mode before anyone opens it, and opened read-only (see
//! `Database::open_read_only`).

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::leftover;
use super::litestream::{Litestream, SHUTDOWN_SYNC_TIMEOUT};
use super::supervisor::{ask_to_stop, forward_log};
use crate::config::ReplicationSettings;
use crate::{Error, Result};

/// Bounds of how often Litestream looks for new transactions in the replica; see
/// [`follow_interval`].
const MIN_FOLLOW_INTERVAL: Duration = Duration::from_millis(100);
const MAX_FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// How often the first restore's progress is looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long the first restore may take (it downloads the whole database).
const FIRST_RESTORE_PATIENCE: Duration = Duration::from_secs(60 * 60);
/// Pauses before restarting a follower that exited: doubling from the first to the last.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a follower asked to stop may take to exit before it is killed.
const EXIT_PATIENCE: Duration = Duration::from_secs(5);

/// Offset of the two bytes of SQLite's header that name the journal mode (1 =
/// rollback, 2 = WAL): the file format's read and write versions.
const JOURNAL_MODE_BYTES: u64 = 18;

/// The running follower. Stop it with [`Follower::stop`].
pub struct Follower {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Follower {
    /// Starts following the replica into `db` and waits until the file holds a complete
    /// restore (at once when an earlier follower left one), ready to be opened
    /// read-only.
    ///
    /// # Errors
    /// When Litestream cannot run, the replica holds nothing (the primary has not
    /// replicated yet), or `db` is not a follower's copy (a primary's database).
    pub async fn start(settings: &ReplicationSettings, db: &Path) -> Result<Self> {
        let litestream = Litestream::new(settings, db)?;
        let db = litestream.db().to_owned();
        let txid = txid_file(&db);
        if db.exists() && !txid.exists() {
            return Err(Error::internal(format!(
                "{} exists but was not restored by a replica (no {}): a read replica \
                 keeps its own copy; point database.url at a new file, or move this one \
                 away",
                db.display(),
                txid.display()
            )));
        }
        leftover::stop(&litestream.config_path(), EXIT_PATIENCE).await;
        litestream.write_config()?;
        let mut child = spawn(&litestream)?;
        let deadline = Instant::now() + FIRST_RESTORE_PATIENCE;
        tracing::info!(replica = %litestream.replica_url(), "restoring the replica before serving");
        while !txid.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                leftover::forget(&litestream.config_path());
                return Err(Error::internal(format!(
                    "Litestream could not restore the replica {} ({status}; its reason is \
                     in the log above); a new replica needs the primary to have replicated \
                     at least once",
                    litestream.replica_url()
                )));
            }
            if Instant::now() >= deadline {
                ask_to_stop(&mut child);
                return Err(Error::internal(format!(
                    "Litestream did not finish restoring the replica within {} s",
                    FIRST_RESTORE_PATIENCE.as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
        use_rollback_journal(&db)?;
        tracing::info!(database = %db.display(), "replica restored; following it");
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(supervise(litestream, child, stopping));
        Ok(Self { stop, task })
    }

    /// Stops following and waits for Litestream to exit.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!(%err, "the Litestream follower supervisor failed");
        }
    }
}

/// Where Litestream notes the last transaction it applied to `db`.
fn txid_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-txid");
    PathBuf::from(name)
}

/// How often the follower looks for new transactions: a quarter of the primary's sync
/// interval, so a write waits at most a quarter interval more on a replica than it takes
/// to reach the replica (the wait used to be a whole second, which doubled the lag at
/// the default one-second sync). Bounded below because each look lists the replica (an
/// S3 request) and above so a slow sync still shows within a second of arriving.
fn follow_interval(sync_interval: Duration) -> Duration {
    (sync_interval / 4).clamp(MIN_FOLLOW_INTERVAL, MAX_FOLLOW_INTERVAL)
}

fn spawn(litestream: &Litestream) -> Result<Child> {
    let mut cmd = litestream.command("restore");
    cmd.arg("-f")
        .arg("-follow-interval")
        .arg(format!(
            "{}ms",
            follow_interval(litestream.sync_interval()).as_millis()
        ))
        .arg("-o")
        .arg(litestream.db())
        .arg(litestream.db());
    let mut child = cmd.spawn().map_err(|err| litestream.spawn_error(&err))?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_log(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_log(err));
    }
    leftover::note(&litestream.config_path(), child.id());
    tracing::info!(pid = child.id(), "Litestream follower started");
    Ok(child)
}

/// The restored file says "WAL" in its header (it is the primary's). Opened like that,
/// every reader would keep a shared lock on the file while open, and Litestream,
/// which takes the exclusive lock to apply a transaction, would wait forever. Rollback
/// mode takes the shared lock only during each read. Litestream itself writes the
/// same two bytes whenever it applies page 1, so this never races with it into a
/// wrong value. A log or index left by an earlier opening in WAL mode would make
/// SQLite use WAL anyway, so they go; nothing else has the file open yet.
fn use_rollback_journal(db: &Path) -> Result<()> {
    let fail = |err: std::io::Error| {
        Error::internal(format!(
            "cannot prepare the restored replica {} for reading: {err}",
            db.display()
        ))
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .map_err(fail)?;
    file.seek(SeekFrom::Start(JOURNAL_MODE_BYTES))
        .map_err(fail)?;
    file.write_all(&[1, 1]).map_err(fail)?;
    file.sync_data().map_err(fail)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(fail(err)),
        }
    }
    Ok(())
}

/// Keeps the follower running: restarted after a pause when it exits (it resumes from
/// its last transaction), stopped with SIGTERM on shutdown.
async fn supervise(litestream: Litestream, first: Child, mut stopping: watch::Receiver<bool>) {
    let mut child = Some(first);
    let mut backoff = MIN_BACKOFF;
    loop {
        if let Some(mut current) = child.take() {
            let started = Instant::now();
            tokio::select! {
                status = current.wait() => {
                    leftover::forget(&litestream.config_path());
                    if started.elapsed() >= MAX_BACKOFF {
                        backoff = MIN_BACKOFF;
                    }
                    match status {
                        Ok(status) => tracing::warn!(
                            %status,
                            restart_in_ms = backoff.as_millis(),
                            "the Litestream follower stopped unexpectedly; restarting it"
                        ),
                        Err(err) => tracing::error!(
                            %err,
                            restart_in_ms = backoff.as_millis(),
                            "lost track of the Litestream follower; restarting it"
                        ),
                    }
                }
                _ = stopping.changed() => {
                    ask_to_stop(&mut current);
                    let patience = EXIT_PATIENCE + SHUTDOWN_SYNC_TIMEOUT;
                    if tokio::time::timeout(patience, current.wait()).await.is_err() {
                        let _ = current.kill().await;
                    }
                    leftover::forget(&litestream.config_path());
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stopping.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        match spawn(&litestream) {
            Ok(started) => child = Some(started),
            Err(err) => tracing::error!(%err, "cannot restart the Litestream follower"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_follower_looks_four_times_per_sync_within_bounds() {
        let at = |ms| follow_interval(Duration::from_millis(ms));
        assert_eq!(at(1000), Duration::from_millis(250));
        assert_eq!(at(2000), Duration::from_millis(500));
        assert_eq!(
            at(100),
            MIN_FOLLOW_INTERVAL,
            "never more than ten looks a second"
        );
        assert_eq!(
            at(60_000),
            MAX_FOLLOW_INTERVAL,
            "a slow sync still shows within a second"
        );
    }
}
