//! Read connections used right on the calling thread.
//!
//! Handing a read to another thread and waking the caller afterwards costs two context
//! switches, several times the work of a lookup by key or of a list page whose total is
//! already known. Such reads run here, on the caller's thread, on one of a few
//! connections (one per CPU). When every one is busy the caller goes to the pool rather
//! than wait. Reads whose cost is not known in advance run under a budget of SQLite
//! virtual-machine steps: a read that exceeds it is abandoned (SQLite interrupts it) and
//! the caller runs it again on the pool, so a slow query never holds up the async
//! executor for longer than the budget. Steps alone do not bound time (one step can be a
//! `~` over a 100 KB text), so the budget also ends after [`TIME_PER_BUDGET`].

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use r2d2::ManageConnection;

use super::reader::{ReadConnection, ReaderManager};
use crate::{Error, Result};

/// SQLite calls the budget check after this many virtual-machine steps: often enough that
/// a run of costly steps (text matching over large values) is caught within the time
/// budget, rarely enough to cost nothing measurable.
const STEPS_PER_TICK: i32 = 100;

/// Ticks a budgeted read may take: about 25,000 steps, a few tens of microseconds —
/// enough for a page of records walked through an index, not for scanning a collection.
const TICKS_PER_BUDGET: u32 = 250;

/// Longest a budgeted read may run on the calling thread, however few steps it took:
/// requests sharing the async worker (health checks included) wait at most about this.
const TIME_PER_BUDGET: Duration = Duration::from_millis(2);

/// `ticks_left` value meaning "no budget": reads by key are cheap by construction.
const UNLIMITED: u32 = u32::MAX;

/// The inline connections.
pub(super) struct InlineReaders {
    manager: ReaderManager,
    slots: Vec<Mutex<Option<Slot>>>,
}

/// An inline connection and the budget its progress handler enforces.
pub(super) struct Slot {
    conn: ReadConnection,
    ticks_left: Arc<AtomicU32>,
    /// When the connection was opened: the clock's origin for `deadline`.
    opened: Instant,
    /// The running read's deadline, in microseconds after `opened`.
    deadline: Arc<AtomicU64>,
}

/// A free inline connection, held until dropped.
pub(super) struct InlineConnection<'a>(MutexGuard<'a, Option<Slot>>);

impl InlineReaders {
    /// One inline connection per CPU, opened on first use.
    pub(super) fn new(manager: ReaderManager) -> Self {
        Self {
            manager,
            slots: (0..crate::constants::cpus())
                .map(|_| Mutex::new(None))
                .collect(),
        }
    }

    /// A free connection (opened if needed, reopened when its planner statistics are
    /// outdated), or `None` when all are busy.
    pub(super) fn free(&self) -> Option<Result<InlineConnection<'_>>> {
        for slot in &self.slots {
            let mut guard = match slot.try_lock() {
                Ok(guard) => guard,
                // A panic in an earlier read poisoned the lock; the statement it ran was
                // reset when it unwound, so the connection is still sound.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            if guard
                .as_mut()
                .is_some_and(|slot| self.manager.is_valid(&mut slot.conn).is_err())
            {
                *guard = None;
            }
            if guard.is_none() {
                match self.open() {
                    Ok(slot) => *guard = Some(slot),
                    Err(err) => return Some(Err(err)),
                }
            }
            return Some(Ok(InlineConnection(guard)));
        }
        None
    }

    fn open(&self) -> Result<Slot> {
        let conn = self.manager.connect()?;
        let ticks_left = Arc::new(AtomicU32::new(UNLIMITED));
        let ticks = Arc::clone(&ticks_left);
        let opened = Instant::now();
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let until = Arc::clone(&deadline);
        // Returning true interrupts the running statement with SQLITE_INTERRUPT.
        conn.progress_handler(
            STEPS_PER_TICK,
            Some(move || match ticks.load(Ordering::Relaxed) {
                UNLIMITED => false,
                0 => true,
                left => {
                    if micros_since(opened) > until.load(Ordering::Relaxed) {
                        ticks.store(0, Ordering::Relaxed);
                        return true;
                    }
                    ticks.store(left - 1, Ordering::Relaxed);
                    false
                }
            }),
        )?;
        Ok(Slot {
            conn,
            ticks_left,
            opened,
            deadline,
        })
    }
}

impl InlineConnection<'_> {
    /// Runs `f` on the connection, without a budget: for reads by key.
    pub(super) fn run<T>(&mut self, f: impl FnOnce(&mut ReadConnection) -> Result<T>) -> Result<T> {
        f(&mut self.slot()?.conn)
    }

    /// Runs `f` under the step budget: `None` when it ran out (whatever `f` returned is
    /// then discarded, and the caller should run it elsewhere).
    pub(super) fn within_budget<T>(
        &mut self,
        f: impl FnOnce(&mut ReadConnection) -> Result<T>,
    ) -> Option<Result<T>> {
        let slot = match self.slot() {
            Ok(slot) => slot,
            Err(err) => return Some(Err(err)),
        };
        let until = micros_since(slot.opened).saturating_add(micros(TIME_PER_BUDGET));
        slot.deadline.store(until, Ordering::Relaxed);
        slot.ticks_left.store(TICKS_PER_BUDGET, Ordering::Relaxed);
        let result = f(&mut slot.conn);
        let exhausted = slot.ticks_left.swap(UNLIMITED, Ordering::Relaxed) == 0;
        if exhausted { None } else { Some(result) }
    }

    fn slot(&mut self) -> Result<&mut Slot> {
        // `free` hands out only guards it has just filled.
        self.0
            .as_mut()
            .ok_or_else(|| Error::internal("an inline read connection was not opened"))
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn micros_since(origin: Instant) -> u64 {
    micros(origin.elapsed())
}

#[cfg(test)]
mod tests {
    use std::thread::ThreadId;

    use crate::db::Database;

    /// Counts 1..=n with a recursive query: its cost grows with `n` and needs no table.
    fn count_to(n: i64) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n})
             SELECT COUNT(*) FROM c"
        )
    }

    async fn counted_on(db: &Database, n: i64) -> (i64, ThreadId) {
        db.read_counting(move |conn, _| {
            let total = conn.query_row(&count_to(n), [], |row| row.get(0))?;
            Ok((total, std::thread::current().id()))
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn cheap_reads_run_on_the_calling_thread_and_costly_ones_on_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("data.db")).unwrap();
        let here = std::thread::current().id();

        let (total, ran_on) = counted_on(&db, 10).await;
        assert_eq!(total, 10);
        assert_eq!(
            ran_on, here,
            "a cheap read should not leave the calling thread"
        );

        // Far over the budget: interrupted here, then run to the end on the pool.
        let (total, ran_on) = counted_on(&db, 2_000_000).await;
        assert_eq!(
            total, 2_000_000,
            "the read must complete, not fail, over budget"
        );
        assert_ne!(ran_on, here, "a costly read should move to the pool");

        // The budget is reset: cheap reads stay inline afterwards, and reads by key,
        // which have no budget, run to the end inline however long they take.
        let (total, ran_on) = counted_on(&db, 10).await;
        assert_eq!((total, ran_on), (10, here));
        let (total, ran_on) = db
            .read_by_key(|conn| {
                let total: i64 = conn.query_row(&count_to(200_000), [], |row| row.get(0))?;
                Ok((total, std::thread::current().id()))
            })
            .await
            .unwrap();
        assert_eq!((total, ran_on), (200_000, here));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_read_of_few_but_costly_steps_moves_to_the_pool_after_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("data.db")).unwrap();
        let here = std::thread::current().id();
        // A few thousand steps, far under the step budget, but each row matches text
        // against 400 KB: hundreds of milliseconds in all.
        let (matched, ran_on) = db
            .read_counting(|conn, _| {
                let matched: i64 = conn.query_row(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)
                     SELECT COUNT(*) FROM c WHERE hex(zeroblob(200000 + x)) LIKE '%zz%'",
                    [],
                    |row| row.get(0),
                )?;
                Ok((matched, std::thread::current().id()))
            })
            .await
            .unwrap();
        assert_eq!(matched, 0);
        assert_ne!(ran_on, here, "a read past its time should move to the pool");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_over_budget_never_leave_a_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("data.db")).unwrap();
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE notes (n INTEGER)")?))
            .await
            .unwrap();
        // Each read runs out of its budget on the inline connection, whose cached
        // statements then run with the budget spent, and moves to the pool.
        for round in 0..200 {
            let (total, _) = counted_on(&db, 100_000).await;
            assert_eq!(total, 100_000);
            // A write between reads: a connection left inside a read transaction would
            // keep its old snapshot and never see it.
            db.write(move |tx| Ok(tx.execute("INSERT INTO notes VALUES (?1)", [round])?))
                .await
                .unwrap();
            let seen: i64 = db
                .read_counting(|conn, _| {
                    Ok(conn.query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))?)
                })
                .await
                .unwrap();
            assert_eq!(seen, round + 1, "round {round}: a stale snapshot");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn errors_within_the_budget_are_returned_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("data.db")).unwrap();
        let err = db
            .read_counting(|conn, _| Ok(conn.query_row("SELECT * FROM missing", [], |_| Ok(()))?))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
