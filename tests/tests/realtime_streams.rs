//! Realtime streams against a real server process: a thousand clients that connect and
//! go away leak neither file descriptors nor memory, and stopping the server ends open
//! streams instead of waiting on them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{Server, workdir};

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Opens a stream and reads until its `connected` event.
async fn connect_once(client: &reqwest::Client, base: &str) -> reqwest::Response {
    let mut response = client
        .get(format!("{base}/api/realtime"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut text = String::new();
    while !text.contains("event: connected") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the connected event in time")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_clients_coming_and_going_leak_nothing() {
    let (_guard, dir) = workdir();
    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let base = server.base.clone();
    let pid = server.child.id();
    // A fresh connection per stream, as separate browsers would make.
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    // Warm up, so lazily opened connections and buffers count in the baseline.
    for _ in 0..20 {
        drop(connect_once(&fresh(), &base).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds_before, rss_before) = (open_fds(pid), rss_kib(pid));

    for _ in 0..1_000 {
        let client = fresh();
        let stream = connect_once(&client, &base).await;
        drop(stream);
        drop(client);
    }
    // Give the server a moment to see the last connections close.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut fds_after = open_fds(pid);
    while fds_after > fds_before + 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fds_after = open_fds(pid);
    }
    let rss_after = rss_kib(pid);
    println!(
        "realtime churn: fds {fds_before} -> {fds_after}, RSS {rss_before} -> {rss_after} KiB"
    );
    assert!(
        fds_after <= fds_before + 2,
        "file descriptors leaked: {fds_before} before, {fds_after} after"
    );
    // Forgotten clients are kept a few minutes for resuming; a thousand of them are
    // small. Growth beyond that would be a leak per connection.
    assert!(
        rss_after < rss_before + 16 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ends_open_streams() {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(connect_once(&client, &server.base).await);
    }
    server.terminate();
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap();
    assert!(status.success(), "the server stopped cleanly: {status:?}");
    for mut stream in streams {
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = stream.chunk().await {}
        })
        .await;
        assert!(end.is_ok(), "a stream stayed open after the server stopped");
    }
}
