//! Crash safety: SIGKILL in the middle of a write load loses nothing that was
//! acknowledged and leaves a database that passes `PRAGMA integrity_check`; a call cut
//! off by a crash is recorded as failed at the next start, never left `running`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, workdir};
use serde_json::{Value, json};

const ADMIN: [(&str, &str); 2] = [
    ("TINYBASE_ADMIN_EMAIL", "crash@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "crash-password"),
];

async fn admin_token(base: &str) -> String {
    let (status, body) = common::login(base, "crash@example.com", "crash-password").await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

fn kill_hard(server: &mut Server) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait();
}

fn integrity(dir: &std::path::Path) -> String {
    let db = tinybase::db::Database::open(&dir.join("tinybase.db")).unwrap();
    db.read_blocking(|conn| Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_a_kill_mid_load() {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &ADMIN).unwrap();
    let token = admin_token(&server.base).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/api/collections", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "items", "schema": {"fields": [
            {"name": "n", "type": "int", "required": true, "unique": true},
            {"name": "writer", "type": "int"},
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    // Eight writers create records as fast as they can and remember every 201.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
    let mut writers = Vec::new();
    for writer in 0..8_i64 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
        );
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let n = writer * 1_000_000 + i;
                let sent = client
                    .post(format!("{base}/api/collections/items/records"))
                    .bearer_auth(&token)
                    .json(&json!({"n": n, "writer": writer}))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status().as_u16() != 201 {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .push((body["id"].as_str().unwrap().to_owned(), n));
            }
        }));
    }
    // Kill once a good number of writes were acknowledged (with more still coming).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() <= 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fewer than 50 writes acknowledged in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill_hard(&mut server);
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "only {} writes before the kill",
        acknowledged.len()
    );

    assert_eq!(integrity(&dir), "ok");
    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let token = admin_token(&server.base).await;
    let mut stored = HashSet::new();
    for page in 1.. {
        let body: Value = client
            .get(format!(
                "{}/api/collections/items/records?per_page=500&page={page}",
                server.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = body["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        for item in items {
            stored.insert((
                item["id"].as_str().unwrap().to_owned(),
                item["data"]["n"].as_i64().unwrap(),
            ));
        }
    }
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|a| !stored.contains(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {missing:?}",
        missing.len()
    );
    println!(
        "crash test: {} acknowledged writes, {} stored after the kill, none lost",
        acknowledged.len(),
        stored.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_off_by_a_crash_is_recorded_as_failed() {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &ADMIN).unwrap();
    let token = admin_token(&server.base).await;
    let client = reqwest::Client::new();
    let at = in_two_seconds();
    let schedule = client
        .post(format!("{}/api/admin/schedules", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "slow", "function_name": "slow_job",
                      "schedule": {"method": "once", "date": &at[..10], "time": &at[11..19]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.status().as_u16(),
        201,
        "{}",
        schedule.text().await.unwrap()
    );

    // Wait until the scheduled run is under way, then kill the server.
    let calls_url = format!(
        "{}/api/admin/functions/calls?function_name=slow_job",
        server.base
    );
    let mut running = false;
    for _ in 0..100 {
        let calls: Value = client
            .get(&calls_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "running")
        {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(running, "the scheduled run never started");
    kill_hard(&mut server);
    assert_eq!(integrity(&dir), "ok");

    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let token = admin_token(&server.base).await;
    let calls_url = format!(
        "{}/api/admin/functions/calls?function_name=slow_job",
        server.base
    );
    let calls: Value = client
        .get(&calls_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = calls["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(first["status"], "failed", "{calls}");
    assert_eq!(first["error_type"], "interrupted", "{calls}");
    assert!(!first["finished_at"].is_null());
}

/// Two seconds from now in the stored timestamp form (UTC).
fn in_two_seconds() -> String {
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    let secs = later
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = tinybase::db::parse_timestamp("1970-01-01T00:00:00Z").unwrap()
        + std::time::Duration::from_secs(secs);
    tinybase::db::format_timestamp(at)
}
