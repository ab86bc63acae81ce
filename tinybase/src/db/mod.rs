//! SQLite storage: one file, a pool of readers and a single writer thread.
//!
//! SQLite allows one writer at a time. Rather than let concurrent writers fight over the
//! lock (and surface `SQLITE_BUSY`), every write goes through [`Database::write`] to one
//! dedicated OS thread that owns the only writer connection (see `writer.rs`). That
//! thread commits writes in groups: it runs whatever writes queued up while it was busy in
//! one `IMMEDIATE` transaction, each in its own savepoint so a failing write undoes only
//! its own changes, and answers every caller only after the commit that holds its write.
//! Under load that is one commit for many writes; when idle, a lone write commits at once.
//!
//! Reads use `query_only` connections and never wait for writers (WAL). Most run on
//! tokio's blocking pool so SQLite never stalls the async executor; lookups by key, which
//! take microseconds, run on the calling thread instead, because handing them to another
//! thread costs more than the lookup (see `inline.rs`). Async writers wait on a oneshot
//! channel, so they hold no thread while queued.
mod backup;
mod connection;
mod count_cache;
mod identity;
mod inline;
mod migrations;
mod reader;
mod statistics;
mod time;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use r2d2::Pool;
use rusqlite::{Connection, Transaction};

use crate::{Error, ErrorKind, Result};

pub(crate) use backup::restore_locked;
pub use backup::{DatabaseLock, restore};
use count_cache::CountCache;
pub(crate) use count_cache::Counts;
pub use rusqlite;
pub use time::{format_timestamp, now, parse_optional_timestamp, parse_timestamp};

/// The fewest read connections the pool may open. Reads that reach the pool are the
/// ones too costly to run inline (scans), so more of them at once than there are CPUs
/// only adds memory; a few more than that keep a slow read from blocking all others.
const MIN_READ_POOL_SIZE: u32 = 4;

/// The longest a list (its count and its page) may run before it is stopped.
pub const QUERY_TIME_LIMIT: Duration = Duration::from_secs(10);

/// SQLite's default automatic checkpoint threshold, in log pages.
const AUTO_CHECKPOINT_PAGES: i64 = 1000;

/// SQLite virtual-machine steps between two looks at the clock.
const TIME_CHECK_STEPS: i32 = 10_000;

/// A handle to the TinyBase database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    readers: Pool<reader::ReaderManager>,
    inline_readers: inline::InlineReaders,
    statistics: reader::StatisticsGeneration,
    /// Row changes per collection since the planner statistics were refreshed.
    growth: Arc<statistics::RowGrowth>,
    counts: CountCache,
    /// Feeds the writer thread. `None` only while [`Inner`] is being dropped: closing the
    /// channel is what tells the thread to stop.
    jobs: Option<mpsc::Sender<writer::Job>>,
    /// Joined on drop, so the writer connection is closed before the lock below is let go.
    thread: Option<JoinHandle<()>>,
    /// The writer thread's id: a write sent from that thread would wait on itself forever.
    /// `None` for a read replica, which has no writer.
    thread_id: Option<ThreadId>,
    /// What the writer thread did; tests use it to see writes grouped into batches.
    #[cfg_attr(not(test), allow(dead_code))]
    stats: Arc<writer::Stats>,
    /// When `users` or `auth_tokens` last changed; `None` for a read replica, whose file
    /// changes from outside, unseen.
    identity: Option<Arc<identity::IdentityChanges>>,
    /// Held shared while the database is open, so a restore cannot replace it under us.
    /// Declared last so it is released after everything above (fields drop in order).
    _lock: DatabaseLock,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer thread once it has run what is queued.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // The last handle can be dropped on the writer thread itself (by a job or a
            // hook that held a clone); joining would wait on itself, so let it finish
            // on its own there.
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!("the database writer thread panicked");
            }
        }
    }
}

impl Database {
    /// Opens (creating if needed) the database file at `path` and applies pending
    /// migrations. Blocking: call it before serving, or from `spawn_blocking`.
    ///
    /// # Errors
    /// Fails when the file cannot be created or opened, or a migration fails.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::internal(format!(
                    "cannot create database directory {}: {err}",
                    dir.display()
                ))
            })?;
        }
        let lock = DatabaseLock::shared(path)?;
        let mut writer = Connection::open(path).map_err(|err| {
            Error::internal(format!("cannot open database {}: {err}", path.display()))
        })?;
        connection::configure(&writer, connection::Role::Writer)?;
        migrations::apply(&mut writer)?;
        // 0x10002: analyse every table that needs it, as SQLite advises for long-lived
        // connections, so the planner has statistics from the start. The records table is
        // then analysed exactly, whatever optimize decided (see `statistics.rs`).
        writer.execute_batch("PRAGMA optimize=0x10002")?;
        let growth = Arc::new(statistics::RowGrowth::default());
        growth.analysed(Some(statistics::analyse_records(&writer)?));

        let statistics = reader::StatisticsGeneration::default();
        let manager = reader::ReaderManager::new(path, statistics.clone());
        let inline_readers =
            inline::InlineReaders::new(reader::ReaderManager::new(path, statistics.clone()));
        let readers = Pool::builder()
            .max_size(read_pool_size())
            .min_idle(Some(1))
            .build(manager)?;

        let identity = Arc::new(identity::IdentityChanges::new());
        identity::IdentityChanges::watch(&identity, &writer)?;
        let (jobs, queue) = mpsc::channel();
        let stats = Arc::new(writer::Stats::default());
        let thread_stats = Arc::clone(&stats);
        let thread_identity = Arc::clone(&identity);
        let thread = std::thread::Builder::new()
            .name("tinybase-writer".to_owned())
            .spawn(move || writer::run(writer, queue, thread_stats, thread_identity))
            .map_err(|err| Error::internal(format!("cannot start the writer thread: {err}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                readers,
                inline_readers,
                statistics,
                growth,
                counts: CountCache::default(),
                jobs: Some(jobs),
                thread_id: Some(thread.thread().id()),
                thread: Some(thread),
                stats,
                identity: Some(identity),
                _lock: lock,
            }),
        })
    }

    /// Opens the database of a read replica at `path`, which another process (Litestream
    /// following the replica) keeps up to date: read connections only, opened read-only,
    /// each starting every read with an empty page cache (see `reader.rs`); no writer
    /// thread and no migrations. Every write fails with a 503 `read_only_replica`.
    ///
    /// # Errors
    /// When the file cannot be opened, or its schema is newer than this build knows.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let lock = DatabaseLock::shared(path)?;
        let statistics = reader::StatisticsGeneration::default();
        let manager = reader::ReaderManager::read_only(path, statistics.clone());
        let readers = Pool::builder()
            .max_size(read_pool_size())
            .min_idle(Some(1))
            .build(manager)?;
        {
            let conn = readers.get()?;
            migrations::check_read_only(&conn)?;
        }
        let inline_readers =
            inline::InlineReaders::new(reader::ReaderManager::read_only(path, statistics.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                readers,
                inline_readers,
                statistics,
                growth: Arc::new(statistics::RowGrowth::default()),
                counts: CountCache::default(),
                jobs: None,
                thread: None,
                thread_id: None,
                stats: Arc::new(writer::Stats::default()),
                identity: None,
                _lock: lock,
            }),
        })
    }

    /// Whether this is a read replica's database ([`Database::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.thread.is_none()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Which database this is (unique in the process) and how often `users` or
    /// `auth_tokens` have changed: what a caller's identity read at this version may be
    /// remembered under (see `identity.rs`). Take it before the read. `None` for a read
    /// replica, where such changes arrive unseen.
    pub(crate) fn identity_version(&self) -> Option<(u64, u64)> {
        Some(self.inner.identity.as_ref()?.version())
    }

    /// Runs `f` with a read-only connection on the blocking pool.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f)).await?
    }

    /// Like [`Database::read`], but runs `f` right here on the calling thread when an
    /// inline connection is free, which saves two thread hand-offs. Only for reads that
    /// look up a few rows by key: a slow `f` would hold up the async executor.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub(crate) async fn read_by_key<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // The connection is released at the end of this statement, before any await.
        if let Some(conn) = self.inner.inline_readers.free() {
            return conn?.run(|conn| f(conn));
        }
        self.read(f).await
    }

    /// Like [`Database::read`], inside one read transaction, with the [`Counts`] cache for
    /// totals that need not be recounted while nothing changed.
    /// Tried first on the calling thread under a small budget (see `inline.rs`); a read
    /// that needs more runs on the blocking pool.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub(crate) async fn read_counting<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection, &Counts<'_>) -> Result<T> + Send + 'static,
    {
        let counts = &self.inner.counts;
        if let Some(conn) = self.inner.inline_readers.free()
            && let Some(done) = conn?.within_budget(|conn| counting(conn, counts, false, &f))
        {
            return done;
        }
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.inner.readers.get()?;
            within_time_limit(&mut pooled, QUERY_TIME_LIMIT, |conn| {
                counting(conn, &db.inner.counts, true, &f)
            })
        })
        .await?
    }

    /// Runs `f` on the writer thread inside an `IMMEDIATE` write transaction, which it may
    /// share with other writes queued at the same time (group commit). `f` runs in its own
    /// savepoint: when it returns `Err` (or panics) only its own changes are rolled back.
    /// Answers once the transaction holding `f`'s changes has committed. Writers queue;
    /// they never see `SQLITE_BUSY`.
    ///
    /// # Errors
    /// Whatever `f` returns, an internal error when `f` panics or the transaction cannot
    /// commit, or when called from inside another write (it would wait on itself).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.write_async(f, None::<fn(&T)>).await
    }

    /// Like [`Database::write`], and then runs `after_commit` with the result on the writer
    /// thread, right after the commit that holds `f` and before any later write runs.
    /// In-memory state derived from the database (such as compiled collection schemas) is
    /// updated there, so it changes in commit order and later writes see it.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error if the transaction cannot commit or
    /// `after_commit` panics.
    pub async fn write_then<T, F, G>(&self, f: F, after_commit: G) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        G: FnOnce(&T) + Send + 'static,
    {
        self.write_async(f, Some(after_commit)).await
    }

    /// Refreshes the query planner's statistics for tables that changed a lot since they
    /// were last analysed. Without statistics SQLite assumes every index equality is
    /// selective and may, for example, ignore a field's index for a filter. The server
    /// runs this periodically; it is cheap when nothing changed.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn optimize(&self) -> Result<()> {
        // Between batches rather than inside one: analysing can take a while, and writes
        // grouped with it would wait for it before being answered. `optimize` may sample
        // the records table; it is analysed exactly afterwards (see `statistics.rs`).
        let growth = Arc::clone(&self.inner.growth);
        self.raw(move |conn| {
            conn.execute_batch("PRAGMA optimize")?;
            growth.analysed(Some(statistics::analyse_records(conn)?));
            Ok(())
        })
        .await?;
        self.inner.statistics.advance();
        Ok(())
    }

    /// Notes that `rows` records of the collection `collection_id` were created or
    /// deleted (after the write committed). When the collection has changed enough for
    /// the planner statistics to mislead, they are refreshed on the writer thread after
    /// the writes already queued; the caller does not wait for it.
    pub(crate) fn note_changed_records(&self, collection_id: &str, rows: u64) {
        if !self.inner.growth.note(collection_id, rows) {
            return;
        }
        let growth = Arc::clone(&self.inner.growth);
        let generation = self.inner.statistics.clone();
        let job = writer::raw_job(
            move |conn| {
                let started = std::time::Instant::now();
                let rows = statistics::analyse_records(conn)?;
                tracing::debug!(
                    collections = rows.len(),
                    elapsed_ms = started.elapsed().as_millis(),
                    "refreshed the planner statistics of the records table"
                );
                growth.analysed(Some(rows));
                // Read connections reload statistics only when reopened.
                generation.advance();
                Ok(())
            },
            {
                let growth = Arc::clone(&self.inner.growth);
                move |outcome: Result<()>| {
                    if let Err(err) = outcome {
                        tracing::warn!(%err, "could not refresh the planner statistics");
                        growth.analysed(None);
                    }
                }
            },
        );
        if let Err(err) = self.send(job) {
            tracing::warn!(%err, "could not ask for fresh planner statistics");
            self.inner.growth.analysed(None);
        }
    }

    /// Copies the write-ahead log into the database file and truncates the log, waiting
    /// (up to the busy timeout) for readers to move on. SQLite checkpoints automatically
    /// as it goes, but readers that never pause can keep those from finishing; this
    /// bounds the log file under sustained load.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn checkpoint(&self) -> Result<()> {
        // A checkpoint cannot run inside a transaction, so it runs between batches.
        self.raw(|conn| {
            // Returns (busy, log pages, checkpointed pages); busy = 1 means readers kept
            // part of the log alive, which the next checkpoint will finish.
            let (busy, _, _): (i64, i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
            if busy != 0 {
                tracing::debug!("checkpoint could not finish while readers were active");
            }
            Ok(())
        })
        .await
    }

    /// Switches SQLite's automatic checkpoints after commits on (`true`, SQLite's default
    /// of every 1,000 pages) or off. Off while Litestream runs: it checkpoints itself,
    /// once it has shipped what the checkpoint would fold away.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn set_auto_checkpoint(&self, on: bool) -> Result<()> {
        let pages = if on { AUTO_CHECKPOINT_PAGES } else { 0 };
        self.raw(move |conn| {
            conn.pragma_update(None, "wal_autocheckpoint", pages)?;
            Ok(())
        })
        .await
    }

    /// [`Database::read`] for code already on a blocking thread.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.readers.get()?;
        f(&conn)
    }

    /// [`Database::write`] for code already on a blocking thread: blocks until the write
    /// has committed (or failed).
    ///
    /// # Errors
    /// Whatever `f` returns, an internal error when `f` panics or the transaction cannot
    /// commit, or when called from inside another write (it would wait on itself).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        // Room for the one answer, so the writer thread never waits on this caller.
        let (answer, answered) = mpsc::sync_channel(1);
        self.send(writer::write_job(f, None::<fn(&T)>, move |outcome| {
            // The caller is blocked on the other end and cannot have gone away.
            let _ = answer.send(outcome);
        }))?;
        answered.recv().map_err(|_| writer_stopped())?
    }

    async fn write_async<T, F, G>(&self, f: F, after_commit: Option<G>) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        G: FnOnce(&T) + Send + 'static,
    {
        self.submit(|answer| writer::write_job(f, after_commit, answer))
            .await
    }

    /// Runs `f` on the writer connection between batches, outside any transaction.
    async fn raw<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.submit(|answer| writer::raw_job(f, answer)).await
    }

    /// Sends the job `make` builds around its answer, and waits for the answer.
    async fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(Box<dyn FnOnce(Result<T>) + Send>) -> writer::Job,
    ) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.send(make(Box::new(move |outcome| {
            // A caller that stopped waiting (its request was cancelled) still had its job
            // done, exactly as before; there is just no one left to tell.
            let _ = answer.send(outcome);
        })))?;
        answered.await.map_err(|_| writer_stopped())?
    }

    fn send(&self, job: writer::Job) -> Result<()> {
        if Some(std::thread::current().id()) == self.inner.thread_id {
            return Err(Error::internal(
                "a database write was started from inside another write; it would wait on \
                 itself forever",
            ));
        }
        let Some(jobs) = self.inner.jobs.as_ref() else {
            return Err(read_only_replica());
        };
        jobs.send(job).map_err(|_| writer_stopped())
    }
}

/// How many read connections the pool keeps at most: one per CPU, at least
/// [`MIN_READ_POOL_SIZE`].
fn read_pool_size() -> u32 {
    u32::try_from(crate::constants::cpus()).map_or(u32::MAX, |cpus| cpus.max(MIN_READ_POOL_SIZE))
}

/// Runs `f`, stopping any statement it runs once `limit` has passed. Bounds
/// the CPU one list can take, whatever its filter (a comparison such as `~` over large
/// text costs one virtual-machine step however long it runs, so steps alone cannot).
fn within_time_limit<T>(
    conn: &mut reader::ReadConnection,
    limit: Duration,
    f: impl FnOnce(&mut reader::ReadConnection) -> Result<T>,
) -> Result<T> {
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + limit;
    let flag = Arc::clone(&expired);
    // Returning true interrupts the running statement with SQLITE_INTERRUPT.
    conn.progress_handler(
        TIME_CHECK_STEPS,
        Some(move || {
            let late = Instant::now() >= deadline;
            if late {
                flag.store(true, Ordering::Relaxed);
            }
            late
        }),
    )?;
    let result = f(conn);
    conn.progress_handler(0, None::<fn() -> bool>)?;
    if expired.load(Ordering::Relaxed) {
        return Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "the query ran for more than {} ms and was stopped; narrow the filter, \
                 or index the fields it compares",
                limit.as_millis()
            ),
        ));
    }
    result
}

/// Runs `f` in one read transaction, so the count cache's version check, the count and
/// the page all see the same snapshot.
fn counting<T>(
    conn: &mut reader::ReadConnection,
    cache: &CountCache,
    on_blocking_thread: bool,
    f: impl Fn(&Connection, &Counts<'_>) -> Result<T>,
) -> Result<T> {
    let (conn, seen) = conn.parts();
    // Read before the snapshot starts; see `count_cache.rs` for why the order matters.
    let epoch = cache.epoch();
    let _snapshot = ReadTransaction::begin(conn)?;
    let counts = cache.begin(conn, seen, epoch, on_blocking_thread)?;
    f(conn, &counts)
}

/// A read transaction, ended when dropped (also on an error or a panic, so a connection
/// never keeps an old snapshot). `BEGIN` and its end run as cached statements: rusqlite's
/// `Transaction` parses them afresh each time, which showed in profiles of list requests.
struct ReadTransaction<'c>(&'c Connection);

impl<'c> ReadTransaction<'c> {
    fn begin(conn: &'c Connection) -> Result<Self> {
        run_whole(conn, "BEGIN")?;
        Ok(Self(conn))
    }
}

impl Drop for ReadTransaction<'_> {
    fn drop(&mut self) {
        // A read has nothing to keep, so rolling back ends it as well as committing would.
        if let Err(err) = run_whole(self.0, "ROLLBACK")
            && !self.0.is_autocommit()
        {
            tracing::error!(%err, "could not end a read transaction");
        }
    }
}

/// Runs the cached statement `sql`, which takes a handful of virtual-machine steps, so
/// that an inline read's step budget cannot interrupt it. SQLite calls the progress
/// handler after every [`inline`] tick of steps *counted over all runs* of a statement,
/// so a cached statement run often reaches a tick in any run; when the budget has just
/// run out, the handler interrupts it. Interrupting the `ROLLBACK` that ends a read
/// would leave the connection holding its snapshot for good (the log then grows without
/// bound and every later `BEGIN` fails), so the count starts afresh each run.
fn run_whole(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    let mut statement = conn.prepare_cached(sql)?;
    statement.reset_status(rusqlite::StatementStatus::VmStep);
    statement.execute([])
}

/// A write reached the database of a read replica (forwarding to the primary missed it).
fn read_only_replica() -> Error {
    Error::new(
        ErrorKind::ServiceUnavailable,
        "this server is a read replica and cannot write; send writes to the primary",
    )
    .with_code("read_only_replica")
}

/// The writer thread is gone: only possible if it could not be kept alive (it catches
/// panics in jobs), so this is reported rather than waited on.
fn writer_stopped() -> Error {
    Error::internal("the database writer thread stopped")
}
