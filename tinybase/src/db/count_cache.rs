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

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::Result;

/// Counts kept at most; when full the cache starts over, which is cheap and keeps memory
/// bounded whatever queries arrive.
const CAPACITY: usize = 1_024;

/// The shared cache of counts.
#[derive(Default)]
pub(crate) struct CountCache {
    shared: Mutex<Shared>,
}

#[derive(Default)]
struct Shared {
    epoch: u64,
    entries: HashMap<String, i64>,
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
    ) -> Result<Counts<'_>> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if seen.0 == Some(version) {
            return Ok(Counts {
                cache: self,
                epoch: Some(epoch_before),
            });
        }
        // A new connection cannot know what changed before it opened, so its first read
        // counts as a change too.
        seen.0 = Some(version);
        let mut shared = self.lock();
        shared.epoch += 1;
        shared.entries.clear();
        Ok(Counts {
            cache: self,
            epoch: None,
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
        {
            let shared = self.cache.lock();
            if shared.epoch == epoch
                && let Some(known) = shared.entries.get(&key)
            {
                return Ok(*known);
            }
        }
        // Counted without the lock: other readers go on meanwhile.
        let value = count()?;
        let mut shared = self.cache.lock();
        if shared.epoch == epoch {
            if shared.entries.len() >= CAPACITY {
                shared.entries.clear();
            }
            shared.entries.insert(key, value);
        }
        Ok(value)
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
}
