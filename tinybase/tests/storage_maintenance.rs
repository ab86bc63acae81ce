//! Housekeeping that keeps the database bounded: the write-ahead log is truncated by a
//! checkpoint, old call records are pruned, running ones kept.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{Duration, Utc};
use tinybase::db::format_timestamp;
use tinybase::functions::calls;

async fn app() -> (tempfile::TempDir, tinybase::Tinybase) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = tinybase::config::Settings::default();
    settings.database.url = dir.path().join("t.db").display().to_string();
    let app = tinybase::App::new(settings).build().await.unwrap();
    (dir, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_truncates_the_write_ahead_log() {
    let (dir, app) = app().await;
    let wal = dir.path().join("t.db-wal");
    // Enough writes to grow the log well past its initial size.
    for batch in 0..20 {
        app.database()
            .write(move |tx| {
                for n in 0..200 {
                    tx.execute(
                        "INSERT INTO function_calls (id, function_name, status, trigger_type,
                             started_at, created_at)
                         VALUES (?1, 'filler', 'succeeded', 'manual', '2026-01-01T00:00:00.000000Z',
                             '2026-01-01T00:00:00.000000Z')",
                        [format!("{batch:04}-{n:04}-{}", "x".repeat(200))],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
    let before = std::fs::metadata(&wal).unwrap().len();
    assert!(before > 0, "the log should hold the writes");
    app.database().checkpoint().await.unwrap();
    let after = std::fs::metadata(&wal).unwrap().len();
    assert_eq!(
        after, 0,
        "log was {before} bytes, still {after} after the checkpoint"
    );
    let count: i64 = app
        .database()
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM function_calls", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(count, 4_000, "nothing lost in the checkpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_finished_calls_are_pruned_and_running_ones_kept() {
    let (_dir, app) = app().await;
    let old = format_timestamp(Utc::now() - Duration::days(40));
    let recent = format_timestamp(Utc::now() - Duration::days(2));
    app.database()
        .write(move |tx| {
            for (id, status, at) in [
                ("old-ok", "succeeded", &old),
                ("old-failed", "failed", &old),
                ("old-running", "running", &old),
                ("recent", "succeeded", &recent),
            ] {
                tx.execute(
                    "INSERT INTO function_calls (id, function_name, status, trigger_type,
                         started_at, created_at) VALUES (?1, 'f', ?2, 'manual', ?3, ?3)",
                    [id, status, at.as_str()],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let pruned = calls::prune_older_than(app.database(), 30).await.unwrap();
    assert_eq!(pruned, 2);
    let left: Vec<String> = app
        .database()
        .read(|c| {
            let mut stmt = c.prepare("SELECT id FROM function_calls ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .await
        .unwrap();
    assert_eq!(left, vec!["old-running".to_owned(), "recent".to_owned()]);
}
