//! Clients that hold connections without finishing their requests, over raw TCP against a
//! real server: a trickled request head is cut off after `server.header_timeout_seconds`,
//! a trickled body gets 408 after `server.body_timeout_seconds`, an idle connection is
//! closed after `server.keep_alive_timeout_seconds`, and none of it touches a request that
//! is being served, however long it takes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use reqwest::StatusCode;
use serde_json::Value;
use tinybase::Result;
use tinybase::functions::Context;
use tinybase::schemars::JsonSchema;
use tinybase::serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Proof that the slow function ran to its end.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Slept {
    slept_ms: u64,
}

/// Takes 2.5 seconds: longer than the timeouts the tests below set.
#[tinybase::function(auth = "public")]
async fn slow_function(_ctx: Context) -> Result<Slept> {
    tokio::time::sleep(Duration::from_millis(2500)).await;
    Ok(Slept { slept_ms: 2500 })
}

const SECOND: Duration = Duration::from_secs(1);
/// Scheduling slack for "closed at about the timeout".
const EARLY: Duration = Duration::from_millis(150);

/// A server whose connection timeouts are all `seconds` (0 = off).
async fn server_with_timeouts(seconds: u64) -> TestServer {
    TestServer::start_with(|s| {
        s.server.header_timeout_seconds = seconds;
        s.server.body_timeout_seconds = seconds;
        s.server.keep_alive_timeout_seconds = seconds;
    })
    .await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or resets it); returns what arrived and
/// when the connection ended, or `None` if it is still open after `within`.
async fn closed_within(
    stream: &mut (impl AsyncRead + Unpin),
    within: Duration,
) -> Option<(String, Instant)> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    let ended = tokio::time::timeout(within, read_all).await.ok()?;
    Some((String::from_utf8_lossy(&received).into_owned(), ended))
}

/// Writes `bytes` one at a time, `gap` apart, until done or the server closes.
async fn trickle(stream: &mut (impl AsyncWrite + Unpin), bytes: &[u8], gap: Duration) {
    for byte in bytes {
        if stream.write_all(&[*byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(gap).await;
    }
}

/// The status line and the JSON body of one raw HTTP answer.
fn parse_answer(answer: &str) -> (String, String, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let status_line = head.lines().next().unwrap().to_owned();
    (
        status_line,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_line_is_cut_off_after_the_header_timeout() {
    let server = server_with_timeouts(1).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /api/hea").await.unwrap();
    let sent = Instant::now();
    let (received, ended) = closed_within(&mut stream, 4 * SECOND)
        .await
        .expect("the server kept a half-sent request line open");
    let after = ended - sent;
    assert!(after >= SECOND - EARLY, "closed after only {after:?}");
    assert!(received.is_empty(), "{received:?}");

    // The server itself is fine.
    let (status, _) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_a_request_head_does_not_extend_the_header_timeout() {
    let server = server_with_timeouts(1).await;
    let (mut reader, mut writer) = connect(&server).await.into_split();
    let started = Instant::now();
    // One byte every 200 ms: about 7 s for the whole head if the server waited for it.
    let trickler = tokio::spawn(async move {
        let head = b"GET /api/health HTTP/1.1\r\nhost: x\r\n\r\n";
        trickle(&mut writer, head, Duration::from_millis(200)).await;
    });
    let (received, ended) = closed_within(&mut reader, 5 * SECOND)
        .await
        .expect("a trickled head kept the connection open");
    trickler.abort();
    let after = ended - started;
    assert!(after < 2 * SECOND, "closed only after {after:?}");
    assert!(
        received.is_empty(),
        "the request was answered: {received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_heads_are_all_cut_off_and_the_server_keeps_answering() {
    let server = server_with_timeouts(1).await;
    let mut streams = Vec::new();
    for i in 0..200 {
        let mut stream = connect(&server).await;
        stream
            .write_all(format!("POST /api/auth/login HTTP/1.1\r\nx-slow-{i}: ").as_bytes())
            .await
            .unwrap();
        streams.push(stream);
    }
    let sent = Instant::now();
    // Meanwhile, an ordinary client is served at once.
    let (status, _) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
    let closing: Vec<_> = streams
        .into_iter()
        .map(|mut stream| tokio::spawn(async move { closed_within(&mut stream, 6 * SECOND).await }))
        .collect();
    for (i, task) in closing.into_iter().enumerate() {
        let (received, _) = task
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("connection {i} still open"));
        assert!(received.is_empty(), "{received:?}");
    }
    assert!(sent.elapsed() < 6 * SECOND);
}

/// Sends `body` to `path` a byte every 100 ms; asserts the answer is a 408 in the envelope
/// about a second after the head, and that the connection is then closed.
async fn assert_trickled_body_times_out(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    body: &'static [u8],
) {
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{auth}\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let (mut reader, mut writer) = connect(server).await.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte every 100 ms: about 5 s for the body if the server waited for it.
    let trickler = tokio::spawn(async move {
        trickle(&mut writer, body, Duration::from_millis(100)).await;
    });
    let (answer, ended) = closed_within(&mut reader, 5 * SECOND)
        .await
        .expect("a trickled body kept the connection open");
    trickler.abort();
    let after = ended - started;
    assert!(
        after >= SECOND - EARLY && after < 3 * SECOND,
        "closed after {after:?}"
    );
    let (status, head, body) = parse_answer(&answer);
    assert!(status.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(head.contains("content-type: application/json"), "{answer}");
    assert!(head.contains("connection: close"), "{answer}");
    assert!(head.contains("x-request-id: "), "{answer}");
    assert_eq!(body["error"]["code"], "request_timeout", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_answered_408_and_the_connection_closed() {
    let server = server_with_timeouts(1).await;
    let before = server.user_count().await;
    let body = br#"{"email": "slow@example.com", "password": "password1"}"#;
    assert_trickled_body_times_out(&server, "/api/auth/register", None, body).await;
    assert_eq!(server.user_count().await, before);

    // Record bodies are read on their own path; the same deadline holds there.
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            serde_json::json!({"name": "notes", "schema": {"fields": [{"name": "text", "type": "text"}]}}),
        )
        .await;
    let body = br#"{"text": "written one byte at a time"}"#;
    assert_trickled_body_times_out(
        &server,
        "/api/collections/notes/records",
        Some(&admin),
        body,
    )
    .await;
    let (status, page) = server
        .get("/api/collections/notes/records", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total_items"], 0, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_keep_alive_timeout() {
    let server = TestServer::start_with(|s| {
        s.server.keep_alive_timeout_seconds = 1;
        s.server.header_timeout_seconds = 3;
    })
    .await;

    // Connected, but nothing sent: the keep-alive timeout, not the header timeout.
    let mut stream = connect(&server).await;
    let connected = Instant::now();
    let (received, ended) = closed_within(&mut stream, 4 * SECOND)
        .await
        .expect("a silent connection stayed open");
    let after = ended - connected;
    assert!(
        after >= SECOND - EARLY && after < 2 * SECOND,
        "closed after {after:?}"
    );
    assert!(received.is_empty());

    // After an answered request, the connection stays usable until it has been idle that
    // long, then closes.
    let mut stream = connect(&server).await;
    let request = b"GET /api/health HTTP/1.1\r\nhost: x\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 "));
    tokio::time::sleep(SECOND / 2).await;
    stream.write_all(request).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200 "),
        "the kept-alive connection was closed early"
    );
    let answered = Instant::now();
    let (received, ended) = closed_within(&mut stream, 4 * SECOND)
        .await
        .expect("an idle kept-alive connection stayed open");
    let after = ended - answered;
    assert!(
        after >= SECOND - EARLY && after < 2 * SECOND,
        "closed after {after:?}"
    );
    assert!(received.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_being_served_is_never_cut_off() {
    let server = server_with_timeouts(1).await;
    // The handler takes 2.5 s, longer than every timeout; the client waits quietly.
    let started = Instant::now();
    let response = server
        .client
        .post(server.url("/api/functions/slow_function"))
        .send()
        .await
        .expect("the connection was cut while the request was served");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["slept_ms"], 2500);
    assert!(started.elapsed() >= Duration::from_millis(2500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_switches_the_timeouts_off() {
    let server = server_with_timeouts(0).await;
    let mut silent = connect(&server).await;
    let mut half_head = connect(&server).await;
    half_head.write_all(b"GET /api/hea").await.unwrap();
    tokio::time::sleep(2 * SECOND).await;
    assert!(
        closed_within(&mut silent, Duration::from_millis(100))
            .await
            .is_none()
    );
    assert!(
        closed_within(&mut half_head, Duration::from_millis(100))
            .await
            .is_none()
    );
    // The head can still be finished and is answered.
    half_head
        .write_all(b"lth HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = closed_within(&mut half_head, 4 * SECOND).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
}
