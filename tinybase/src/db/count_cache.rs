//! Exact row counts remembered until the database changes, shared by every read
//! connection.
//!
//! A list's total is a `COUNT(*)` over every matching record. When the filter cannot use
//! an index that means reading each record of the collection, which costs far more than
//! the page itself. Collections are read much more often than they change, so totals are
//! remembered and reused until anything commits.
//!
//! Change detection uses SQLite's `PRAGMA data_version`, which tells a connection whether
//! any other connection (this process's writer, another process, a restore) committed
//! since its previous read. Its values are per connection, so each connection remembers
//! the last one it saw; whenever one of them sees a change it starts a new epoch, which
//! empties the cache. A read may use or add counts only if the epoch it read *before*
//! starting its snapshot is still current: a count made from an older snapshot was made
//! under an older epoch (the commit it misses ended that epoch when a connection first
//! saw it), so it is never served.
//!
//! Right after a write, every list of a big collection would count it at the same time;
//! instead one read counts and the others on the blocking pool wait for its result (reads
//! on async workers never wait: they count under their step budget or move to the pool).

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::Result;

/// Counts kept at most; when full the cache starts over, which is cheap and keeps memory
/// bounded whatever queries arrive.
const CAPACITY: usize = 1_024;

/// The shared cache of counts.
#[derive(Default)]
pub(crate) struct CountCache {
    shared: Mutex<Shared>,
    /// Signalled when a count in progress finishes (or the epoch changes).
    counted: Condvar,
}

#[derive(Default)]
struct Shared {
    epoch: u64,
    entries: HashMap<String, i64>,
    /// Counts being made in this epoch. Right after a write, every list of a big
    /// collection would otherwise count it at once; one counts and the others wait.
    in_progress: HashSet<String>,
}

/// The last `data_version` one connection saw (`None` before its first read).
#[derive(Default)]
pub(crate) struct SeenVersion(Option<i64>);

/// The cache as one read transaction may use it.
pub(crate) struct Counts<'a> {
    cache: &'a CountCache,
    /// The epoch read before the snapshot began, or `None` when this read saw a change
    /// (its snapshot may be newer than the epoch's counts; it neither uses nor adds any).
    epoch: Option<u64>,
    /// Whether this read may wait for another's count: not on an async worker thread.
    may_wait: bool,
}

impl CountCache {
    /// The current epoch; read it before starting the read transaction.
    pub(super) fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Checks inside a read transaction whether the database changed since `seen`, and
    /// what this transaction may do with the cache.
    ///
    /// # Errors
    /// Internal errors reading `data_version`.
    pub(super) fn begin(
        &self,
        conn: &Connection,
        seen: &mut SeenVersion,
        epoch_before: u64,
        may_wait: bool,
    ) -> Result<Counts<'_>> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if seen.0 == Some(version) {
            return Ok(Counts {
                cache: self,
                epoch: Some(epoch_before),
                may_wait,
            });
        }
        // A new connection cannot know what changed before it opened, so its first read
        // counts as a change too.
        seen.0 = Some(version);
        let mut shared = self.lock();
        shared.epoch += 1;
        shared.entries.clear();
        shared.in_progress.clear();
        drop(shared);
        // Waiters re-check: their epoch is over, so they count for themselves.
        self.counted.notify_all();
        Ok(Counts {
            cache: self,
            epoch: None,
            may_wait,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Nothing panics while holding the lock (map operations only); recover anyway.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Counts<'_> {
    /// The count for `key` (the query and its bound values), computed by `count` unless
    /// it is known for this snapshot.
    ///
    /// # Errors
    /// Whatever `count` returns.
    pub(crate) fn get_or_count(
        &self,
        key: String,
        count: impl FnOnce() -> Result<i64>,
    ) -> Result<i64> {
        let Some(epoch) = self.epoch else {
            return count();
        };
        let mut shared = self.cache.lock();
        loop {
            if shared.epoch != epoch {
                drop(shared);
                return count();
            }
            if let Some(known) = shared.entries.get(&key) {
                return Ok(*known);
            }
            if !shared.in_progress.contains(&key) {
                break;
            }
            if !self.may_wait {
                // On an async worker: never block; the step budget bounds this count.
                drop(shared);
                return count();
            }
            shared = self
                .cache
                .counted
                .wait(shared)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        shared.in_progress.insert(key.clone());
        drop(shared);
        // Counted without the lock: other readers go on meanwhile. The guard ends the
        // count in progress however this returns (an error, an interrupted read).
        let in_progress = InProgress {
            cache: self.cache,
            key: &key,
            epoch,
        };
        let value = count()?;
        let mut shared = self.cache.lock();
        if shared.epoch == epoch {
            if shared.entries.len() >= CAPACITY {
                shared.entries.clear();
            }
            shared.entries.insert(key.clone(), value);
        }
        drop(shared);
        drop(in_progress);
        Ok(value)
    }
}

/// A count in progress; dropping it tells waiting readers to look again.
struct InProgress<'a> {
    cache: &'a CountCache,
    key: &'a str,
    epoch: u64,
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        let mut shared = self.cache.lock();
        if shared.epoch == self.epoch {
            shared.in_progress.remove(self.key);
        }
        drop(shared);
        self.cache.counted.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rusqlite::Connection;

    use crate::db::Database;

    const COUNT: &str = "SELECT COUNT(*) FROM notes";

    fn open() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("data.db")).unwrap();
        (dir, db)
    }

    /// Counts through every pooled connection (the pool hands them out in turn) and
    /// returns the totals and how many of them were really computed.
    async fn count_all(db: &Database, rounds: usize) -> (Vec<i64>, usize) {
        let computed = Arc::new(AtomicUsize::new(0));
        let mut totals = Vec::new();
        for _ in 0..rounds {
            let computed = computed.clone();
            let total = db
                .read_counting(move |conn, counts| {
                    counts.get_or_count(COUNT.to_owned(), || {
                        computed.fetch_add(1, Ordering::SeqCst);
                        Ok(conn.query_row(COUNT, [], |row| row.get(0))?)
                    })
                })
                .await
                .unwrap();
            totals.push(total);
        }
        (totals, computed.load(Ordering::SeqCst))
    }

    async fn insert_note(db: &Database) {
        db.write(|tx| Ok(tx.execute("INSERT INTO notes DEFAULT VALUES", [])?))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn counts_are_reused_until_a_commit_and_then_recounted() {
        let (_dir, db) = open();
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        insert_note(&db).await;

        let (totals, computed) = count_all(&db, 20).await;
        assert!(totals.iter().all(|&n| n == 1), "{totals:?}");
        // Sequential reads reuse the idle connection, so nearly all are cache hits.
        assert!(computed < 20, "every read recounted: {computed}");

        insert_note(&db).await;
        let (totals, computed_after) = count_all(&db, 20).await;
        assert!(
            totals.iter().all(|&n| n == 2),
            "stale total after a write: {totals:?}"
        );
        assert!(computed_after >= 1);
    }

    #[tokio::test]
    async fn a_commit_from_another_connection_invalidates_the_counts() {
        let (dir, db) = open();
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        let (totals, _) = count_all(&db, 5).await;
        assert!(totals.iter().all(|&n| n == 0));

        // Another process writing the same file looks like this to SQLite.
        let other = Connection::open(dir.path().join("data.db")).unwrap();
        other
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        other
            .execute("INSERT INTO notes DEFAULT VALUES", [])
            .unwrap();

        let (totals, _) = count_all(&db, 5).await;
        assert!(totals.iter().all(|&n| n == 1), "stale total: {totals:?}");
    }

    #[tokio::test]
    async fn distinct_queries_keep_distinct_counts_and_the_cache_stays_bounded() {
        let (_dir, db) = open();
        db.write(|tx| {
            Ok(tx.execute_batch(
                "CREATE TABLE notes (id INTEGER PRIMARY KEY);
                 INSERT INTO notes DEFAULT VALUES; INSERT INTO notes DEFAULT VALUES;",
            )?)
        })
        .await
        .unwrap();
        // The first read of a connection only notes the database version.
        db.read_counting(|_, _| Ok(())).await.unwrap();
        let queries = super::CAPACITY as i64 + 10;
        let mut totals = Vec::new();
        for chunk in 0..(queries + 99) / 100 {
            let limits = (chunk * 100)..((chunk + 1) * 100).min(queries);
            let counted = db
                .read_counting(move |conn, counts| {
                    let mut totals = Vec::new();
                    for limit in limits.clone() {
                        let sql = format!("SELECT COUNT(*) FROM notes WHERE id <= {limit}");
                        totals.push(counts.get_or_count(sql.clone(), || {
                            Ok(conn.query_row(&sql, [], |row| row.get(0))?)
                        })?);
                    }
                    Ok(totals)
                })
                .await
                .unwrap();
            totals.extend(counted);
        }
        // Full at CAPACITY entries, it started over and holds the last ten.
        assert_eq!(db.inner.counts.lock().entries.len(), 10);
        assert_eq!(&totals[..4], &[0, 1, 2, 2]);
        assert!(totals[4..].iter().all(|&n| n == 2));
    }

    /// A count that takes a while: far over the inline step budget.
    const SLOW_COUNT: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT COUNT(*) FROM c";

    /// Runs `readers` concurrent reads of a slow count, under the same key or one key
    /// each; returns how many of them finished counting rather than reusing a count.
    async fn slow_counts_at_once(db: &Database, readers: usize, same_key: bool) -> usize {
        let finished = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..readers)
            .map(|n| {
                let key = if same_key {
                    "slow".to_owned()
                } else {
                    format!("slow {n}")
                };
                let (db, finished) = (db.clone(), finished.clone());
                tokio::spawn(async move {
                    db.read_counting(move |conn, counts| {
                        counts.get_or_count(key.clone(), || {
                            let total: i64 = conn.query_row(SLOW_COUNT, [], |row| row.get(0))?;
                            finished.fetch_add(1, Ordering::SeqCst);
                            Ok(total)
                        })
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), 300_000);
        }
        finished.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_wait_for_one_count_instead_of_all_counting() {
        let (_dir, db) = open();
        // Every connection's first read starts a new epoch, so open them all first: one
        // read per pooled connection, all holding theirs at once. (Each first tries an
        // inline connection, where the slow count runs out of budget before the barrier.)
        let pool = crate::db::read_pool_size() as usize;
        let barrier = Arc::new(std::sync::Barrier::new(pool));
        let warm_up: Vec<_> = (0..pool)
            .map(|_| {
                let (db, barrier) = (db.clone(), barrier.clone());
                tokio::spawn(async move {
                    db.read_counting(move |conn, _| {
                        conn.query_row(SLOW_COUNT, [], |row| row.get::<_, i64>(0))?;
                        barrier.wait();
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for task in warm_up {
            task.await.unwrap().unwrap();
        }
        // And every inline connection, each held while the next is taken.
        let inline: Vec<_> = std::iter::from_fn(|| db.inner.inline_readers.free())
            .map(Result::unwrap)
            .collect();
        for mut conn in inline {
            conn.run(|conn| crate::db::counting(conn, &db.inner.counts, false, |_, _| Ok(())))
                .unwrap();
        }
        assert_eq!(slow_counts_at_once(&db, 4, false).await, 4);
        let finished = slow_counts_at_once(&db, 8, true).await;
        assert_eq!(
            finished, 1,
            "the same count was made {finished} times at once"
        );
    }
}
