//! The writer thread: the one place that writes, committing queued writes in groups.
//!
//! Every write becomes a [`Job`] sent over a channel to one OS thread that owns the writer
//! connection. The thread waits for a job, opens an `IMMEDIATE` transaction and runs it in
//! its own `SAVEPOINT`; then it takes whatever other writes queued up meanwhile, without
//! waiting for more, each in its own savepoint, and commits them all at once (group
//! commit). Per-transaction costs are then paid once per batch rather than per write:
//! taking the write lock, appending the pages that several writes touch (table and index
//! pages, the header) to the WAL once instead of once each, and the commit's WAL-index
//! update. And no write waits on a mutex from a blocking-pool thread: async callers wait
//! on a oneshot, the writer never hands its connection to anyone.
//!
//! Isolation between the jobs of a batch comes from the savepoints: a job that returns
//! `Err` (or panics) is rolled back to its savepoint, so only its own changes vanish. Each
//! caller is answered only after the commit that holds its write, so acknowledging a write
//! means exactly what it meant with one transaction per write.
//!
//! One thing savepoints cannot isolate: a constraint checked only at `COMMIT` (a
//! `DEFERRABLE INITIALLY DEFERRED` foreign key, `PRAGMA defer_foreign_keys`) would fail the
//! whole batch. TinyBase declares none; every constraint fails the statement that breaks it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::identity::IdentityChanges;
use crate::error::panic_text;
use crate::{Error, Result};

/// The most writes one transaction commits. Bounds how long the first job of a batch
/// waits for its answer behind the others, and how much a failed commit takes down.
pub(super) const MAX_BATCH: usize = 64;

/// Opens the savepoint each write runs in. Savepoints nest by name on a stack; only one is
/// open at a time here, so one name serves.
const OPEN_SAVEPOINT: &str = "SAVEPOINT tinybase_job";
/// Keeps a write's changes in the enclosing transaction.
const RELEASE_SAVEPOINT: &str = "RELEASE tinybase_job";
/// Undoes a write's changes, then drops its savepoint. `ROLLBACK TO` alone leaves the
/// savepoint open.
const UNDO_SAVEPOINT: &str = "ROLLBACK TO tinybase_job; RELEASE tinybase_job";

/// A write, type-erased, from when it is queued until its caller is answered.
pub(super) trait Write: Send {
    /// Commit right after this write: its after-commit hook updates in-memory state that
    /// later writes may read, so none of them may run before it.
    fn ends_batch(&self) -> bool;
    /// Runs the caller's closure (once); returns whether its changes stay, i.e. whether
    /// its savepoint is released rather than rolled back.
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answers the caller once the batch's fate is known. On `Ok` the after-commit hook
    /// (if any) runs first. A write that never ran answers with the batch's error.
    fn finish(self: Box<Self>, committed: Result<()>);
}

/// Work that needs the bare connection, outside any transaction.
pub(super) type RawFn = Box<dyn FnOnce(&mut Connection) + Send>;

/// One unit of work for the writer thread.
pub(super) enum Job {
    /// A write, grouped with others into one transaction.
    Write(Box<dyn Write>),
    /// Runs between batches, with no transaction open (`wal_checkpoint`, `optimize`).
    Raw(RawFn),
}

/// Where a [`Pending`] write stands.
enum Stage<T, F> {
    Queued(F),
    Running,
    Done(Result<T>),
}

/// The concrete [`Write`]: the caller's closure, its hook and its answer channel.
struct Pending<T, F, G, A> {
    stage: Stage<T, F>,
    after_commit: Option<G>,
    answer: A,
}

impl<T, F, G, A> Write for Pending<T, F, G, A>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    G: FnOnce(&T) + Send + 'static,
    A: FnOnce(Result<T>) + Send + 'static,
{
    fn ends_batch(&self) -> bool {
        self.after_commit.is_some()
    }

    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Stage::Queued(f) = std::mem::replace(&mut self.stage, Stage::Running) else {
            return false;
        };
        // Caught here, where the answer channel is at hand, so the caller learns what went
        // wrong instead of seeing its channel dropped; the thread carries on.
        let value = catch_unwind(AssertUnwindSafe(|| f(tx))).unwrap_or_else(|payload| {
            Err(Error::internal(format!(
                "a database write panicked: {}",
                panic_text(payload.as_ref())
            )))
        });
        let keep = value.is_ok();
        self.stage = Stage::Done(value);
        keep
    }

    fn finish(self: Box<Self>, committed: Result<()>) {
        let Self {
            stage,
            after_commit,
            answer,
        } = *self;
        let outcome = match (stage, committed) {
            // A write that failed reports its own error even when the batch failed too:
            // both are true, and its own says more.
            (Stage::Done(Err(err)), _) | (_, Err(err)) => Err(err),
            (Stage::Queued(_) | Stage::Running, Ok(())) => {
                Err(Error::internal("a queued database write never ran"))
            }
            (Stage::Done(Ok(value)), Ok(())) => match after_commit {
                None => Ok(value),
                Some(hook) => match catch_unwind(AssertUnwindSafe(|| hook(&value))) {
                    Ok(()) => Ok(value),
                    Err(payload) => Err(Error::internal(format!(
                        "the step after a committed write panicked: {}",
                        panic_text(payload.as_ref())
                    ))),
                },
            },
        };
        answer(outcome);
    }
}

/// Wraps a caller's write closure into a [`Job`]. `answer` delivers the final result to
/// the caller (a oneshot for async callers, a std channel for blocking ones).
pub(super) fn write_job<T, F, G, A>(f: F, after_commit: Option<G>, answer: A) -> Job
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    G: FnOnce(&T) + Send + 'static,
    A: FnOnce(Result<T>) + Send + 'static,
{
    Job::Write(Box::new(Pending {
        stage: Stage::Queued(f),
        after_commit,
        answer,
    }))
}

/// Wraps work on the bare connection into a [`Job`] that answers through `answer`.
pub(super) fn raw_job<T, F, A>(f: F, answer: A) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    A: FnOnce(Result<T>) + Send + 'static,
{
    Job::Raw(Box::new(move |conn| {
        let outcome = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|payload| {
            Err(Error::internal(format!(
                "a database maintenance step panicked: {}",
                panic_text(payload.as_ref())
            )))
        });
        answer(outcome);
    }))
}

/// Counts what the writer thread did, to see group commit at work.
#[derive(Default)]
pub(super) struct Stats {
    /// Write transactions the thread ended (committed or rolled back).
    pub(super) batches: AtomicU64,
}

/// The writer thread's body: runs jobs until every sender is gone, then closes the
/// connection (flushing and removing the WAL when it is the last connection).
pub(super) fn run(
    mut conn: Connection,
    jobs: Receiver<Job>,
    stats: Arc<Stats>,
    identity: Arc<IdentityChanges>,
) {
    // A job taken while filling a batch that cannot join it waits here for the next turn,
    // so jobs still run in the order they were sent.
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        match job {
            Job::Raw(f) => {
                run_raw(&mut conn, f);
                identity.transaction_ended();
            }
            Job::Write(write) => {
                next = run_batch(&mut conn, write, &jobs, &stats, &identity);
            }
        }
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(%err, "could not close the database writer connection cleanly");
    }
}

fn run_raw(conn: &mut Connection, f: RawFn) {
    f(conn);
    // Raw work is ours, but a transaction left open would swallow every later batch's
    // BEGIN; end it rather than wedge the writer.
    if !conn.is_autocommit() {
        tracing::warn!("a database maintenance step left a transaction open; rolling back");
        if let Err(err) = conn.execute_batch("ROLLBACK") {
            tracing::error!(%err, "could not roll back a transaction left open");
        }
    }
}

/// Runs `first` and whatever writes are already queued (up to [`MAX_BATCH`]) in one
/// transaction, commits, then answers each caller in order. Returns a job taken from the
/// queue that could not join the batch.
fn run_batch(
    conn: &mut Connection,
    first: Box<dyn Write>,
    jobs: &Receiver<Job>,
    stats: &Stats,
    identity: &IdentityChanges,
) -> Option<Job> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            // Only this job is lost: the queue is untouched and the next turn retries.
            first.finish(Err(Error::internal(format!(
                "cannot begin a write transaction: {err}"
            ))));
            return None;
        }
    };
    let mut batch: Vec<Box<dyn Write>> = Vec::with_capacity(MAX_BATCH);
    // Set when the transaction can no longer be trusted to hold exactly the kept writes;
    // the whole batch is then rolled back and every caller told.
    let mut broken: Option<String> = None;
    let mut carried = None;
    let mut write = first;
    loop {
        let outcome = run_one(&tx, write.as_mut());
        let ends_batch = write.ends_batch();
        batch.push(write);
        if let Err(why) = outcome {
            broken = Some(why);
            break;
        }
        if ends_batch || batch.len() >= MAX_BATCH {
            break;
        }
        match jobs.try_recv() {
            Ok(Job::Write(queued)) => write = queued,
            Ok(raw @ Job::Raw(_)) => {
                carried = Some(raw);
                break;
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    let committed = match broken {
        Some(why) => {
            // Dropping the transaction rolls it back (if it is still open at all).
            drop(tx);
            Err(why)
        }
        None => tx
            .commit()
            .map_err(|err| format!("the write could not be committed: {err}")),
    };
    // Counted before anyone is answered, so a caller sees its own batch counted.
    stats.batches.fetch_add(1, Ordering::Relaxed);
    // Likewise: whoever is told a logout is done must find the token gone.
    identity.transaction_ended();
    match &committed {
        Ok(()) => tracing::trace!(writes = batch.len(), "committed a batch of writes"),
        Err(why) => tracing::error!(writes = batch.len(), "{why}"),
    }
    for write in batch {
        write.finish(committed.clone().map_err(Error::internal));
    }
    carried
}

/// Runs one write inside its own savepoint. `Err` means the transaction is in a state the
/// batch cannot commit: the savepoint could not be opened, released or rolled back, or
/// the write ended the transaction itself.
fn run_one(tx: &Transaction<'_>, write: &mut dyn Write) -> std::result::Result<(), String> {
    // Cached: these run for every write, and re-parsing them would be pure overhead.
    tx.prepare_cached(OPEN_SAVEPOINT)
        .and_then(|mut stmt| stmt.execute([]))
        .map_err(|err| format!("cannot open a savepoint for a write: {err}"))?;
    let keep = write.run(tx);
    if tx.is_autocommit() {
        // The write ran COMMIT or ROLLBACK itself: whatever earlier writes of the batch
        // did may or may not be durable now, so none of them may be told it is.
        return Err("a write ended its transaction itself; the batch was abandoned".to_owned());
    }
    let ended = if keep {
        tx.prepare_cached(RELEASE_SAVEPOINT)
            .and_then(|mut stmt| stmt.execute([]))
            .map(drop)
    } else {
        tx.execute_batch(UNDO_SAVEPOINT)
    };
    ended.map_err(|err| format!("cannot end a write's savepoint: {err}"))
}
