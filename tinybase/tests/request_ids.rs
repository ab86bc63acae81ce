//! Client-sent `x-request-id` headers over real HTTP: a short printable one is kept
//! everywhere (response, function context, logs); anything else is replaced by a fresh id
//! before any of those see it.
//!
//! This binary installs a global log subscriber that writes into memory, so the logs can
//! be searched; keep other tests out of it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::TestServer;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tinybase::Result;
use tinybase::functions::Context;
use tinybase::schemars::JsonSchema;
use tinybase::serde::Serialize;

/// The request id as the function sees it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct SeenId {
    request_id: Option<String>,
}

/// Returns the request id from the function's context.
#[tinybase::function(auth = "public")]
async fn seen_request_id(ctx: Context) -> Result<SeenId> {
    Ok(SeenId {
        request_id: ctx.request_id().map(str::to_owned),
    })
}

/// Everything logged by this test binary.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the in-memory subscriber once per binary.
fn logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

/// The echoed `x-request-id` and the id the function saw, for a call sending `sent`.
async fn call_with(server: &TestServer, sent: Option<HeaderValue>) -> (String, String) {
    let mut request = server.request(Method::POST, "/api/functions/seen_request_id", None);
    if let Some(sent) = sent {
        request = request.header("x-request-id", sent);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id on the response")
        .to_str()
        .expect("an ASCII request id")
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let seen = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    (echoed, seen)
}

fn assert_fresh_uuid(id: &str) {
    let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id:?} is not a UUID"));
    assert_eq!(parsed.get_version_num(), 7, "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_printable_request_id_is_kept_everywhere() {
    let logs = logs();
    let server = TestServer::start().await;
    let longest = "t".repeat(63) + "z";
    for sent in [
        "my-trace-id-123",
        "0af7651916cd43dd8448eb211c80319c",
        "~!#$%&*+.:;<=>?@[]^_`{|}",
        longest.as_str(),
    ] {
        let (echoed, seen) = call_with(&server, Some(HeaderValue::from_str(sent).unwrap())).await;
        assert_eq!(echoed, sent);
        assert_eq!(seen, sent);
    }
    assert!(
        logs.text().contains(&format!("request_id=\"{longest}\"")),
        "the kept id is not in the logs"
    );

    // Without one, the server makes one up.
    let (echoed, seen) = call_with(&server, None).await;
    assert_fresh_uuid(&echoed);
    assert_eq!(seen, echoed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_request_id_is_replaced_before_anything_sees_it() {
    let logs = logs();
    let server = TestServer::start().await;
    let huge = format!("huge{}", "x".repeat(20 * 1024));
    let just_too_long = "y".repeat(65);
    let bad: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&huge).unwrap(),
        HeaderValue::from_str(&just_too_long).unwrap(),
        HeaderValue::from_static(""),
        HeaderValue::from_static("two words"),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        HeaderValue::from_bytes(b"obs\x80text").unwrap(),
    ];
    let mut fresh = std::collections::BTreeSet::new();
    for sent in bad {
        let (echoed, seen) = call_with(&server, Some(sent.clone())).await;
        let shown = String::from_utf8_lossy(sent.as_bytes());
        assert!(echoed.as_bytes() != sent.as_bytes(), "kept {shown:.40?}");
        assert_fresh_uuid(&echoed);
        assert_eq!(seen, echoed, "the function saw another id than the client");
        assert!(fresh.insert(echoed), "a replacement id was reused");
    }
    let logged = logs.text();
    assert!(
        !logged.contains(&huge[..100]),
        "the 20 KB id reached the logs"
    );
    assert!(
        !logged.contains(&just_too_long),
        "a 65-byte id reached the logs"
    );
    assert!(
        !logged.contains("two words"),
        "an id with a space reached the logs"
    );
    for id in &fresh {
        assert!(
            logged.contains(&format!("request_id=\"{id}\"")),
            "replacement {id} not logged"
        );
    }

    // Two ids in one request: neither is trusted.
    let response = server
        .request(Method::GET, "/api/health", None)
        .header("x-request-id", "first-id")
        .header("x-request-id", "second-id")
        .send()
        .await
        .unwrap();
    let echoed: Vec<&str> = response
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(echoed.len(), 1, "{echoed:?}");
    assert_fresh_uuid(echoed[0]);
}
