//! One signed-up user tries to exhaust the server's memory with large records: many
//! creates of the largest record a collection allows, oversized creates, then several
//! anonymous lists of 500 records at once. The server must stay within a fixed memory
//! bound (its peak resident size, as the kernel reports it) and keep answering.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Server, workdir};
use serde_json::{Value, json};

/// The bound on the server's peak resident memory.
const PEAK_RSS_LIMIT_KIB: u64 = 256 * 1024;

/// A `/proc/<pid>/status` value in KiB (`VmHWM` is the peak resident size).
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// A JSON body of about `bytes` bytes: `{"meta": [0,0,…]}`, small numbers being the
/// costliest JSON to parse per byte.
fn zeros_body(bytes: usize) -> String {
    let count = bytes.saturating_sub(16) / 2;
    let mut body = String::with_capacity(bytes + 16);
    body.push_str("{\"meta\":[");
    for i in 0..count {
        if i > 0 {
            body.push(',');
        }
        body.push('0');
    }
    body.push_str("]}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_records_and_lists_keep_the_server_within_its_memory_bound() {
    let (_guard, dir) = workdir();
    let env = [
        ("TINYBASE_ADMIN_EMAIL", "mem@example.com"),
        ("TINYBASE_ADMIN_PASSWORD", "mem-password"),
    ];
    let server = Server::start(&dir, &["--port", "0"], &env).unwrap();
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let (_, login) = common::login(&base, "mem@example.com", "mem-password").await;
    let admin = login["token"].as_str().unwrap().to_owned();
    let created = client
        .post(format!("{base}/api/collections"))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "pub", "schema": {"fields": [{"name": "meta", "type": "json"}]},
                      "options": {"list_rule": "public", "view_rule": "public",
                                  "create_rule": "auth"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let registered: Value = client
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": "someone@example.com", "password": "someone-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = registered["token"].as_str().unwrap().to_owned();
    let pid = server.child.id();
    let rss_before = status_kib(pid, "VmRSS:");

    // 16 creates of 10 MB at once: refused (413) without being read.
    let huge = zeros_body(10 * 1024 * 1024);
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, user, body) = (
                client.clone(),
                format!("{base}/api/collections/pub/records"),
                user.clone(),
                huge.clone(),
            );
            tokio::spawn(async move {
                // The server answers 413 from the announced length and closes the
                // connection, which the client may notice only as a failed write.
                match client
                    .post(url)
                    .bearer_auth(user)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(response) => response.status().as_u16(),
                    Err(err) if err.is_request() => 413,
                    Err(err) => panic!("{err}"),
                }
            })
        })
        .collect();
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), 413);
    }
    drop(huge);

    // 36 records of just under the 1 MiB default limit, four writers at a time.
    let large = zeros_body(1_000_000);
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, user, body) = (
                client.clone(),
                format!("{base}/api/collections/pub/records"),
                user.clone(),
                large.clone(),
            );
            tokio::spawn(async move {
                for _ in 0..9 {
                    let response = client
                        .post(&url)
                        .bearer_auth(&user)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 201);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }

    // Four anonymous lists of up to 500 records at once, three times over.
    let mut served = 0;
    for _ in 0..3 {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (client, url) = (
                    client.clone(),
                    format!("{base}/api/collections/pub/records?per_page=500"),
                );
                tokio::spawn(async move {
                    let response = client.get(url).send().await.unwrap();
                    assert_eq!(response.status().as_u16(), 200);
                    let page: Value = response.json().await.unwrap();
                    assert_eq!(page["total_items"], 36);
                    assert_eq!(page["truncated"], true, "36 MB cannot fit one page");
                    page["items"].as_array().unwrap().len()
                })
            })
            .collect();
        for reader in readers {
            served += reader.await.unwrap();
        }
    }
    assert!(served >= 12, "every list served records");
    let health = client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let peak = status_kib(pid, "VmHWM:");
    println!("memory: RSS {rss_before} KiB before, peak {peak} KiB");
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "peak RSS {peak} KiB is over {PEAK_RSS_LIMIT_KIB} KiB"
    );
}
