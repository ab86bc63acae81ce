//! Exact row counts remembered per read connection until the database changes.
//!
//! A list's total is a `COUNT(*)` over every matching record. When the filter cannot use
//! an index that means reading each record of the collection, which costs far more than
//! the page itself. Collections are read much more often than they change, so each read
//! connection keeps the counts it computed and reuses them while SQLite's
//! `PRAGMA data_version` says no other connection has committed since. That pragma sees
//! every commit to the file (this process's writer, another process, a restore), so a
//! remembered count is never stale.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::Result;

/// Counts kept per connection; when full the cache starts over, which is cheap and keeps
/// memory bounded whatever queries arrive.
const CAPACITY: usize = 256;

/// Counts keyed by the query (SQL and bound values) that produced them.
#[derive(Default)]
pub(crate) struct CountCache {
    /// The `data_version` the entries were computed at.
    version: Option<i64>,
    entries: HashMap<String, i64>,
}

impl CountCache {
    /// The count for `key`, computed by `count` unless it is known for the current state
    /// of the database. Call it inside a read transaction so the check and the count see
    /// the same snapshot.
    ///
    /// # Errors
    /// Whatever `count` returns, or an internal error reading `data_version`.
    pub(crate) fn get_or_count(
        &mut self,
        conn: &Connection,
        key: String,
        count: impl FnOnce() -> Result<i64>,
    ) -> Result<i64> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if self.version != Some(version) {
            self.entries.clear();
            self.version = Some(version);
        }
        if let Some(known) = self.entries.get(&key) {
            return Ok(*known);
        }
        let value = count()?;
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(key, value);
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
                    counts.get_or_count(conn, COUNT.to_owned(), || {
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
        let totals = db
            .read_counting(|conn, counts| {
                let mut totals = Vec::new();
                for limit in 0..(super::CAPACITY as i64 + 10) {
                    let sql = format!("SELECT COUNT(*) FROM notes WHERE id <= {limit}");
                    let total = counts.get_or_count(conn, sql.clone(), || {
                        Ok(conn.query_row(&sql, [], |row| row.get(0))?)
                    })?;
                    totals.push(total);
                }
                assert!(counts.entries.len() <= super::CAPACITY);
                Ok(totals)
            })
            .await
            .unwrap();
        assert_eq!(&totals[..4], &[0, 1, 2, 2]);
        assert!(totals[4..].iter().all(|&n| n == 2));
    }
}
