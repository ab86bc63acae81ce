//! A bounded mixed load from many concurrent clients on loopback: creates, patches,
//! reads, filtered lists and function calls for a fixed time. Nothing may answer 5xx or
//! surface SQLITE_BUSY, and memory must stay bounded. It reports its numbers; it asserts
//! no timing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Server, workdir};
use serde_json::{Value, json};

const CLIENTS: usize = 32;
const DURATION: Duration = Duration::from_secs(30);

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_gets_no_server_errors() {
    let (_guard, dir) = workdir();
    let env = [
        ("TINYBASE_ADMIN_EMAIL", "load@example.com"),
        ("TINYBASE_ADMIN_PASSWORD", "load-password"),
    ];
    let mut server = Server::start(&dir, &["--port", "0"], &env).unwrap();
    let (_, login) = common::login(&server.base, "load@example.com", "load-password").await;
    let token = login["token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/api/collections", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "notes", "schema": {"fields": [
            {"name": "title", "type": "string", "required": true, "max_length": 200},
            {"name": "rating", "type": "int", "min": 0, "max": 5, "indexed": true},
            {"name": "tags", "type": "list[string]"},
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let pid = server.child.id();
    let rss_before = rss_kib(pid);
    let requests = Arc::new(AtomicU64::new(0));
    let server_errors = Arc::new(AtomicU64::new(0));
    let deadline = tokio::time::Instant::now() + DURATION;
    let mut clients = Vec::new();
    for worker in 0..CLIENTS {
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        let (requests, server_errors) = (Arc::clone(&requests), Arc::clone(&server_errors));
        clients.push(tokio::spawn(async move {
            let mut mine: Vec<String> = Vec::new();
            let mut step = 0_u64;
            while tokio::time::Instant::now() < deadline {
                step += 1;
                let url = format!("{base}/api/collections/notes/records");
                let request = match step % 5 {
                    0 | 1 => client.post(&url).json(&json!({
                        "title": format!("note {worker}-{step}"),
                        "rating": step % 6,
                        "tags": ["load", format!("w{worker}")],
                    })),
                    2 if !mine.is_empty() => client
                        .patch(format!("{url}/{}", mine[step as usize % mine.len()]))
                        .json(&json!({"rating": (step + 1) % 6})),
                    3 if !mine.is_empty() => {
                        client.get(format!("{url}/{}", mine[step as usize % mine.len()]))
                    }
                    3 | 2 => client.get(format!("{url}?filter=rating%20%3E%203&per_page=20")),
                    _ => client
                        .post(format!("{base}/api/functions/echo"))
                        .json(&json!({"text": "ping"})),
                };
                let Ok(response) = request.bearer_auth(&token).send().await else {
                    server_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                requests.fetch_add(1, Ordering::Relaxed);
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if status >= 500 || body.to_string().contains("database is locked") {
                    server_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{status}: {body}");
                }
                if status == 201 && body["collection"] == "notes" {
                    mine.push(body["id"].as_str().unwrap().to_owned());
                }
            }
        }));
    }
    let mut peak = rss_before;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(rss_kib(pid));
    }
    for client in clients {
        client.await.unwrap();
    }
    let rss_after = rss_kib(pid);
    let (requests, errors) = (
        requests.load(Ordering::Relaxed),
        server_errors.load(Ordering::Relaxed),
    );
    println!(
        "load test: {requests} requests from {CLIENTS} clients in {} s, {errors} server errors, \
         RSS {rss_before} KiB before, {peak} KiB peak, {rss_after} KiB after",
        DURATION.as_secs()
    );
    assert_eq!(errors, 0, "server errors under load");
    assert!(requests > 1_000, "the load barely ran: {requests} requests");
    // Generous: memory must not grow with the number of requests served.
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");

    // Tens of thousands of logged requests, and the bearer token in none of them.
    server.terminate();
    assert!(server.wait().success());
    assert!(server.log.len() > 1_000, "requests are logged");
    assert!(
        !server.log.iter().any(|line| line.contains(&token[3..])),
        "a bearer token appeared in the log"
    );
}
