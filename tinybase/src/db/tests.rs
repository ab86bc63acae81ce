//! The writer thread and group commit, against a real database file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::*;
use crate::ErrorKind;

fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("test.db")).unwrap();
    (dir, db)
}

async fn create_table(db: &Database) {
    db.write(|tx| Ok(tx.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
        .await
        .unwrap();
}

fn batches(db: &Database) -> u64 {
    db.inner.stats.batches.load(Ordering::Relaxed)
}

fn cause(err: &Error) -> String {
    err.cause().map(ToString::to_string).unwrap_or_default()
}

/// Occupies the writer thread until the returned sender is used (or dropped), so that
/// writes sent meanwhile queue up and then run as one batch. Returns once it is running.
fn hold_writer(db: &Database) -> mpsc::Sender<()> {
    let (release, released) = mpsc::channel::<()>();
    let (running, is_running) = mpsc::channel();
    let db = db.clone();
    std::thread::spawn(move || {
        db.write_blocking(move |_| {
            running.send(()).unwrap();
            let _ = released.recv();
            Ok(())
        })
        .unwrap();
    });
    is_running.recv().unwrap();
    release
}

/// Spawns one task per item, each calling `write` once, and returns once every write
/// has been sent (the writer being held, they all wait in the queue).
async fn queue_writes<T: Send + 'static>(
    count: usize,
    write: impl Fn(usize) -> tokio::task::JoinHandle<T>,
) -> Vec<tokio::task::JoinHandle<T>> {
    let tasks: Vec<_> = (0..count).map(write).collect();
    // A write is sent on the task's first poll; give every task that poll.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tasks
}

fn rows(db: &Database) -> Vec<i64> {
    db.read_blocking(|conn| {
        let mut stmt = conn.prepare("SELECT n FROM t ORDER BY n")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_batch_undoes_only_its_own_changes() {
    let (_dir, db) = open();
    create_table(&db).await;
    let before = batches(&db);
    let release = hold_writer(&db);
    let sent = Arc::new(AtomicUsize::new(0));
    let tasks = queue_writes(50, |i| {
        let db = db.clone();
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            sent.fetch_add(1, Ordering::SeqCst);
            db.write(move |tx| {
                // Every write changes the table; every fifth then fails, so its own
                // insert must vanish while its neighbours' stay.
                tx.execute("INSERT INTO t (n) VALUES (?1)", [i as i64])?;
                if i % 5 == 0 {
                    return Err(Error::bad_request(format!("write {i} refused")));
                }
                Ok(i)
            })
            .await
        })
    })
    .await;
    assert_eq!(sent.load(Ordering::SeqCst), 50);
    drop(release);
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(n) => {
                assert_ne!(i % 5, 0, "write {i} should have failed");
                assert_eq!(n, i, "write {i} got another write's answer");
            }
            Err(err) => {
                assert_eq!(i % 5, 0, "write {i} failed: {err:?}");
                assert_eq!(err.kind(), ErrorKind::BadRequest);
                assert_eq!(err.message(), format!("write {i} refused"));
            }
        }
    }
    let expected: Vec<i64> = (0..50).filter(|i| i % 5 != 0).collect();
    assert_eq!(rows(&db), expected);
    // The holding write and all fifty queued behind it went into one transaction.
    assert_eq!(
        batches(&db) - before,
        1,
        "the queued writes were not grouped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_is_answered_with_an_error_and_the_writer_lives_on() {
    let (_dir, db) = open();
    create_table(&db).await;

    let err = db
        .write(|tx| -> Result<()> {
            tx.execute("INSERT INTO t (n) VALUES (1)", [])?;
            panic!("boom in a write");
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(cause(&err).contains("boom in a write"), "{err:?}");

    // A panic in the middle of a batch: its neighbours commit, its insert does not.
    let release = hold_writer(&db);
    let tasks = queue_writes(3, |i| {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |tx| {
                tx.execute("INSERT INTO t (n) VALUES (?1)", [10 + i as i64])?;
                assert_ne!(i, 1, "write {i} panics");
                Ok(())
            })
            .await
        })
    })
    .await;
    drop(release);
    let answers: Vec<bool> = futures_ok(tasks).await;
    assert_eq!(answers, [true, false, true]);

    // A panic in an after-commit step: the write is committed, the caller told of the
    // panic, and the writer still works.
    let err = db
        .write_then(
            |tx| Ok(tx.execute("INSERT INTO t (n) VALUES (20)", [])?),
            |_| panic!("boom after commit"),
        )
        .await
        .unwrap_err();
    assert!(cause(&err).contains("boom after commit"), "{err:?}");

    db.write(|tx| Ok(tx.execute("INSERT INTO t (n) VALUES (30)", [])?))
        .await
        .unwrap();
    assert_eq!(rows(&db), [10, 12, 20, 30]);
}

async fn futures_ok(tasks: Vec<tokio::task::JoinHandle<Result<()>>>) -> Vec<bool> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap().is_ok());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_commit_hooks_run_in_commit_order_before_any_later_write() {
    let (_dir, db) = open();
    create_table(&db).await;
    // Stands in for an in-memory registry: each hook records how many rows its commit
    // left, and each write checks that the registry matches the table it sees.
    let registry = Arc::new(Mutex::new(0_i64));
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let release = hold_writer(&db);
    let tasks = queue_writes(30, |_| {
        let db = db.clone();
        let registry = Arc::clone(&registry);
        let seen_by_hook = Arc::clone(&registry);
        let hooks = Arc::clone(&hooks);
        tokio::spawn(async move {
            db.write_then(
                move |tx| {
                    let count: i64 = tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?;
                    let registered = *registry.lock().unwrap();
                    // A fresh id, so ids ascend in commit order.
                    tx.execute("INSERT INTO t (n) VALUES (NULL)", [])?;
                    Ok((count, registered, tx.last_insert_rowid()))
                },
                move |&(count, _, rowid)| {
                    *seen_by_hook.lock().unwrap() = count + 1;
                    hooks.lock().unwrap().push(rowid);
                },
            )
            .await
        })
    })
    .await;
    drop(release);
    for task in tasks {
        let (count, registered, _) = task.await.unwrap().unwrap();
        assert_eq!(registered, count, "a write ran before the previous hook");
    }
    let hooks = hooks.lock().unwrap().clone();
    let mut committed = hooks.clone();
    committed.sort_unstable();
    // Rows were inserted in commit order, so their ids ascend in it; the hooks ran in
    // exactly that order.
    assert_eq!(hooks.len(), 30);
    assert_eq!(hooks, committed);
    assert_eq!(*registry.lock().unwrap(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_answered_only_after_it_is_committed() {
    let (dir, db) = open();
    create_table(&db).await;
    let path = dir.path().join("test.db");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let db = db.clone();
            let path = path.clone();
            tokio::spawn(async move {
                db.write(move |tx| Ok(tx.execute("INSERT INTO t (n) VALUES (?1)", [i])?))
                    .await
                    .unwrap();
                // A connection of its own, outside the pool: it sees only committed data.
                let other = Connection::open(&path).unwrap();
                let found: i64 = other
                    .query_row("SELECT COUNT(*) FROM t WHERE n = ?1", [i], |r| r.get(0))
                    .unwrap();
                assert_eq!(found, 1, "write {i} was answered before it was committed");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_truncates_the_write_ahead_log() {
    let (dir, db) = open();
    create_table(&db).await;
    for i in 0..100 {
        db.write(move |tx| Ok(tx.execute("INSERT INTO t (n) VALUES (?1)", [i])?))
            .await
            .unwrap();
    }
    let wal = dir.path().join("test.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    db.checkpoint().await.unwrap();
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    // The writer goes on writing after a checkpoint, and optimize runs too.
    db.write(|tx| Ok(tx.execute("INSERT INTO t (n) VALUES (1000)", [])?))
        .await
        .unwrap();
    db.optimize().await.unwrap();
    assert_eq!(rows(&db).len(), 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_checkpoints_can_be_left_to_litestream_and_taken_back() {
    let (_dir, db) = open();
    let threshold = |db: &Database| {
        let db = db.clone();
        async move {
            db.raw(|conn| {
                Ok(conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get::<_, i64>(0))?)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(
        threshold(&db).await,
        AUTO_CHECKPOINT_PAGES,
        "SQLite's default"
    );
    db.set_auto_checkpoint(false).await.unwrap();
    assert_eq!(threshold(&db).await, 0);
    create_table(&db).await;
    db.set_auto_checkpoint(true).await.unwrap();
    assert_eq!(threshold(&db).await, AUTO_CHECKPOINT_PAGES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_inside_a_write_fails_instead_of_waiting_forever() {
    let (_dir, db) = open();
    create_table(&db).await;
    let inner = db.clone();
    let nested = db
        .write(move |_| Ok(inner.write_blocking(|_| Ok(())).is_err()))
        .await
        .unwrap();
    assert!(nested);
}

#[test]
fn write_blocking_commits_and_dropping_the_last_handle_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let db = Database::open(&path).unwrap();
    db.write_blocking(|tx| Ok(tx.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
        .unwrap();
    let err = db
        .write_blocking(|tx| -> Result<()> {
            tx.execute("INSERT INTO t (n) VALUES (1)", [])?;
            Err(Error::conflict("no"))
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    db.write_blocking(|tx| Ok(tx.execute("INSERT INTO t (n) VALUES (2)", [])?))
        .unwrap();
    assert_eq!(rows(&db), [2]);
    drop(db);
    // The writer connection is closed by the time the lock is let go, so a restore could
    // take the file at once.
    DatabaseLock::exclusive(&path).unwrap();
    // Every connection closes: the last one folds the log in and removes it. (The read
    // pool's connections may close a moment later, on the pool's own threads.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while dir.path().join("test.db-wal").exists() {
        assert!(Instant::now() < deadline, "a connection was never closed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_handle_may_be_dropped_by_a_write_on_the_writer_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let db = Database::open(&path).unwrap();
    let (release, released) = mpsc::channel::<()>();
    let last = db.clone();
    let sender = db.clone();
    let task = tokio::spawn(async move {
        sender
            .write(move |_| {
                let _ = released.recv();
                drop(last);
                Ok(())
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Nobody waits for the write any more; the handle it holds becomes the last one.
    task.abort();
    let _ = task.await;
    drop(db);
    drop(release);
    // The writer thread must not try to join itself; it finishes and lets the file go.
    let deadline = Instant::now() + Duration::from_secs(10);
    while DatabaseLock::exclusive(&path).is_err() {
        assert!(Instant::now() < deadline, "the database was never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_read_over_its_time_limit_is_stopped_with_a_timeout_and_the_connection_lives_on() {
    let (_dir, db) = open();
    let mut conn = db.inner.readers.get().unwrap();
    // Counts forever: only the time limit can end it.
    let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                   SELECT COUNT(*) FROM n";
    let started = Instant::now();
    let err = within_time_limit(&mut conn, Duration::from_millis(100), |conn| {
        Ok(conn.query_row(endless, [], |row| row.get::<_, i64>(0))?)
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("100 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // The limit is gone afterwards: a quick read on the same connection works, and a
    // read under the limit is answered normally.
    let one: i64 = conn.query_row("SELECT 1", [], |row| row.get(0)).unwrap();
    assert_eq!(one, 1);
    let counted = within_time_limit(&mut conn, Duration::from_secs(60), |conn| {
        Ok(conn.query_row(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             SELECT COUNT(*) FROM n",
            [],
            |row| row.get::<_, i64>(0),
        )?)
    })
    .unwrap();
    assert_eq!(counted, 1000);
}
