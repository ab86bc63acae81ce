//! Large uploads against a separate server process: a file of hundreds of MiB streams to
//! storage while the server's memory stays within a fixed bound, and an upload cut short
//! by SIGKILL leaves nothing behind once the server is back.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, workdir};
use serde_json::{Value, json};

/// The upload's size: 512 MiB.
const UPLOAD_BYTES: u64 = 512 * 1024 * 1024;
/// Chunks the client sends.
const CHUNK_BYTES: usize = 256 * 1024;
/// How far above its idle size the server's peak resident memory may go.
const RSS_GROWTH_LIMIT_KIB: u64 = 64 * 1024;

const ENV: [(&str, &str); 3] = [
    ("TINYBASE_ADMIN_EMAIL", "files@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "files-password"),
    // The test's own pace decides; no deadline on the body.
    ("TINYBASE_SERVER_BODY_TIMEOUT_SECONDS", "0"),
];

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

/// The byte at `offset` of the uploaded file: a pattern a test can check anywhere.
fn byte_at(offset: u64) -> u8 {
    (offset % 251) as u8
}

fn chunk(start: u64, len: usize) -> Bytes {
    (0..len as u64)
        .map(|i| byte_at(start + i))
        .collect::<Vec<u8>>()
        .into()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Signs in as the admin and creates the `big` collection.
async fn setup(base: &str) -> String {
    let (_, login) = common::login(base, "files@example.com", "files-password").await;
    let admin = login["token"].as_str().unwrap().to_owned();
    let created = reqwest::Client::new()
        .post(format!("{base}/api/collections"))
        .bearer_auth(&admin)
        .json(&json!({"name": "big", "schema": {"fields": [
            {"name": "blob", "type": "file", "max_size": 2_147_483_648_u64}
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    admin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_streams_to_disk_in_bounded_memory() {
    let (_guard, dir) = workdir();
    let server = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    let base = server.base.clone();
    let admin = setup(&base).await;
    let pid = server.child.id();
    let idle = status_kib(pid, "VmRSS:");

    let chunks = UPLOAD_BYTES / CHUNK_BYTES as u64;
    let stream = futures_util::stream::iter(
        (0..chunks).map(|i| Ok::<_, std::io::Error>(chunk(i * CHUNK_BYTES as u64, CHUNK_BYTES))),
    );
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(stream),
        UPLOAD_BYTES,
    )
    .file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("data", "{}")
        .part("blob", part);
    let response = reqwest::Client::new()
        .post(format!("{base}/api/collections/big/records"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let record: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{record}");

    let peak = status_kib(pid, "VmHWM:");
    println!(
        "files: {} MiB upload; RSS {idle} KiB idle, peak {peak} KiB (+{} KiB)",
        UPLOAD_BYTES >> 20,
        peak.saturating_sub(idle)
    );
    assert!(
        peak <= idle + RSS_GROWTH_LIMIT_KIB,
        "peak RSS {peak} KiB is more than {RSS_GROWTH_LIMIT_KIB} KiB above idle ({idle} KiB)"
    );

    // All of it arrived, in order.
    let stored = files_under(&dir.join("storage"));
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::metadata(&stored[0]).unwrap().len(), UPLOAD_BYTES);
    let url = format!(
        "{base}/api/files/big/{}/{}",
        record["id"].as_str().unwrap(),
        record["data"]["blob"].as_str().unwrap()
    );
    let tail = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&admin)
        .header("range", "bytes=-1000")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    let expected: Vec<u8> = (UPLOAD_BYTES - 1000..UPLOAD_BYTES).map(byte_at).collect();
    assert_eq!(tail.bytes().await.unwrap().to_vec(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_short_by_sigkill_is_cleaned_up_at_the_next_start() {
    let (_guard, dir) = workdir();
    let storage = dir.join("storage");
    let mut server = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    let base = server.base.clone();
    let admin = setup(&base).await;

    // 8 MiB, then the client goes quiet with the upload unfinished.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(stream),
        UPLOAD_BYTES,
    )
    .file_name("cut.bin");
    let form = reqwest::multipart::Form::new().part("blob", part);
    let upload = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{base}/api/collections/big/records"))
            .bearer_auth(&admin)
            .multipart(form)
            .send(),
    );
    for i in 0..32 {
        tx.send(Ok(chunk(i * CHUNK_BYTES as u64, CHUNK_BYTES)))
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_under(&storage).is_empty() {
        assert!(Instant::now() < deadline, "nothing reached storage");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.signal("KILL");
    server.wait();
    assert!(
        upload.await.unwrap().is_err(),
        "the upload cannot have succeeded"
    );
    drop(tx);
    assert!(
        !files_under(&storage).is_empty(),
        "the crash left a partial upload"
    );

    let mut server = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !files_under(&storage).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still stored after the restart: {:?}",
            files_under(&storage)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let swept = server.wait_for_log(Duration::from_secs(30), |line| {
        line.contains("deleted files no record refers to")
    });
    assert!(swept.is_some(), "{}", server.log.join("\n"));
}
