//! Housekeeping that keeps the database bounded: the write-ahead log is truncated by a
//! checkpoint, old call records are pruned (running ones kept) by the maintenance task a
//! server runs at start and hourly, and `functions.call_retention_days = 0` keeps them all.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::{Duration, Utc};
use common::TestServer;
use reqwest::StatusCode;
use tinybase::db::format_timestamp;
use tinybase::functions::Calls;

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
    let pruned = Calls::new(app.database().clone())
        .prune_older_than(30)
        .await
        .unwrap();
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

/// A database holding three finished calls (40 days old, 31 days old, 2 days old) and one
/// expired token, made before any server serves it.
async fn database_with_history() -> (tempfile::TempDir, String) {
    let (dir, app) = app().await;
    let url = dir.path().join("t.db").display().to_string();
    let days_ago = |n| format_timestamp(Utc::now() - Duration::days(n));
    let (forty, thirty_one, two) = (days_ago(40), days_ago(31), days_ago(2));
    tinybase::auth::Users::new(app.database().clone())
        .ensure_admin(common::ADMIN_EMAIL, "admin-password")
        .await
        .unwrap();
    app.database()
        .write(move |tx| {
            for (id, at) in [
                ("01900000-0000-7000-8000-000000000040", &forty),
                ("01900000-0000-7000-8000-000000000031", &thirty_one),
                ("01900000-0000-7000-8000-000000000002", &two),
            ] {
                tx.execute(
                    "INSERT INTO function_calls (id, function_name, status, trigger_type,
                         started_at, finished_at, duration_ms, created_at)
                     VALUES (?1, 'f', 'succeeded', 'manual', ?2, ?2, 1, ?2)",
                    [id, at.as_str()],
                )?;
            }
            tx.execute(
                "INSERT INTO auth_tokens (id, user_id, token_hash, created_at, expires_at)
                 SELECT 'expired', id, 'not-a-real-hash', ?1, ?1 FROM users LIMIT 1",
                [&thirty_one],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    drop(app);
    (dir, url)
}

/// The status of `GET /api/admin/functions/calls/{id}`.
async fn call_status(server: &TestServer, token: &str, id: &str) -> StatusCode {
    server
        .get(&format!("/api/admin/functions/calls/{id}"), Some(token))
        .await
        .0
}

async fn expired_token_left(server: &TestServer) -> bool {
    server
        .app
        .database()
        .read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM auth_tokens WHERE id = 'expired'",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .await
        .unwrap()
        > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_prunes_call_history_past_the_retention() {
    let (_dir, url) = database_with_history().await;
    let server = TestServer::start_with(move |s| {
        s.database.url = url;
        s.functions.call_retention_days = 30;
    })
    .await;
    let admin = server.admin_token().await;
    // The server's own maintenance task (a pass when serving starts) removes the calls
    // older than 30 days; nothing else does.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while call_status(&server, &admin, "01900000-0000-7000-8000-000000000031").await
        != StatusCode::NOT_FOUND
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old call was never pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        call_status(&server, &admin, "01900000-0000-7000-8000-000000000040").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call_status(&server, &admin, "01900000-0000-7000-8000-000000000002").await,
        StatusCode::OK,
        "a call within the retention was pruned"
    );
    let (status, page) = server.get("/api/admin/functions/calls", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total_items"], 1, "{page}");
    assert!(!expired_token_left(&server).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_of_zero_keeps_every_call() {
    let (_dir, url) = database_with_history().await;
    let server = TestServer::start_with(move |s| {
        s.database.url = url;
        s.functions.call_retention_days = 0;
    })
    .await;
    let admin = server.admin_token().await;
    // The pass that serving started has run once the expired token is gone...
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while expired_token_left(&server).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the maintenance pass never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // ...and one more whole pass, awaited, leaves no doubt that it finished.
    server.app.run_maintenance().await;
    for id in [
        "01900000-0000-7000-8000-000000000040",
        "01900000-0000-7000-8000-000000000031",
        "01900000-0000-7000-8000-000000000002",
    ] {
        assert_eq!(
            call_status(&server, &admin, id).await,
            StatusCode::OK,
            "call {id} was pruned"
        );
    }
    let (_, page) = server.get("/api/admin/functions/calls", Some(&admin)).await;
    assert_eq!(page["total_items"], 3, "{page}");
}
