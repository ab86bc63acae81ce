//! Webhooks: admins configure them over HTTP (bad input refused, the secret never shown);
//! record changes reach a real receiver on loopback, signed with HMAC-SHA256; a receiver
//! that fails is retried with backoff and every attempt is in the delivery log; a
//! delivery can be sent again.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use common::records::field_error_keys;
use common::{TestServer, assert_error};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Semaphore;

const SECRET: &str = "receiver-secret-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }
}

/// A webhook receiver on loopback: keeps every request and answers each with the next
/// scripted status (200 once the script is used up); a held one answers nothing until
/// [`Receiver::release`].
#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    gate: Arc<Semaphore>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Self, String) {
        Self::start_gated(script, Semaphore::MAX_PERMITS).await
    }

    /// A receiver that answers nothing until released.
    async fn start_held() -> (Self, String) {
        Self::start_gated(&[], 0).await
    }

    fn release(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    async fn start_gated(script: &[u16], permits: usize) -> (Self, String) {
        let receiver = Self {
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            gate: Arc::new(Semaphore::new(permits)),
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state.gate.acquire().await.unwrap().forget();
                    state.received.lock().unwrap().push(Received {
                        headers,
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
                    (AxumStatus::from_u16(status).unwrap(), "receiver says hi")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (without a deadline assertion on speed) until `count` requests came.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver got {:?}", self.received());
    }
}

/// Checks `x-tinybase-signature` the way the README tells receivers to.
fn verify_signature(secret: &str, request: &Received) -> i64 {
    let header = request.header("x-tinybase-signature");
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", request.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "signature of {}", request.body);
    t.parse().unwrap()
}

async fn fast_retrying_server() -> (TestServer, String) {
    server_with_posts(|s| s.webhooks.retry_initial_delay_ms = 50).await
}

/// A server with these settings and a `posts` collection; returns it and an admin token.
async fn server_with_posts(
    tweak: impl FnOnce(&mut tinybase::config::Settings),
) -> (TestServer, String) {
    let server = TestServer::start_with(tweak).await;
    let token = server.admin_token().await;
    let (status, body) = server
        .post(
            "/api/collections",
            Some(&token),
            json!({"name": "posts", "schema": {"fields": [{"name": "title", "type": "text"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (server, token)
}

async fn create_webhook(server: &TestServer, token: &str, url: &str, events: Value) -> Value {
    let (status, body) = server
        .post(
            "/api/admin/webhooks",
            Some(token),
            json!({"url": url, "collections": ["posts"], "events": events, "secret": SECRET}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn attempts(server: &TestServer, token: &str, webhook_id: &str) -> Vec<Value> {
    let (status, body) = server
        .get(
            &format!("/api/admin/webhooks/{webhook_id}/deliveries?per_page=100"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Waits until the log holds `count` attempts; returns them oldest first.
async fn wait_for_attempts(
    server: &TestServer,
    token: &str,
    webhook_id: &str,
    count: usize,
) -> Vec<Value> {
    for _ in 0..600 {
        let mut items = attempts(server, token, webhook_id).await;
        if items.len() >= count {
            items.reverse();
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the log holds {:?}",
        attempts(server, token, webhook_id).await
    );
}

#[tokio::test]
async fn a_created_record_reaches_the_receiver_signed() {
    let (server, token) = fast_retrying_server().await;
    let (receiver, url) = Receiver::start(&[]).await;
    let webhook = create_webhook(&server, &token, &url, json!(["create", "update"])).await;
    assert_eq!(webhook["url"], url);
    assert_eq!(webhook["collections"], json!(["posts"]));
    assert_eq!(webhook["events"], json!(["create", "update"]));
    assert_eq!(webhook["is_active"], true);

    let (status, record) = server
        .post(
            "/api/collections/posts/records",
            Some(&token),
            json!({"title": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    let got = receiver.wait_for(1).await;
    let request = &got[0];
    let payload = request.json();
    assert_eq!(payload["event"], "create");
    assert_eq!(payload["collection"], "posts");
    assert_eq!(payload["record"], record);
    assert!(payload["seq"].as_i64().unwrap() > 0);
    assert!(payload["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(request.header("x-tinybase-event"), "create");
    assert_eq!(
        request.header("x-tinybase-delivery"),
        payload["id"].as_str().unwrap()
    );
    assert_eq!(request.header("content-type"), "application/json");
    let t = verify_signature(SECRET, request);
    assert!((chrono::Utc::now().timestamp() - t).abs() < 3600);

    // A signature made with another secret does not verify.
    let mut forged = Hmac::<Sha256>::new_from_slice(b"another-secret-0123456").unwrap();
    forged.update(format!("{t}.{}", request.body).as_bytes());
    let forged: String = forged
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!request.header("x-tinybase-signature").contains(&forged));

    // The log shows the attempt.
    let log = wait_for_attempts(&server, &token, webhook["id"].as_str().unwrap(), 1).await;
    assert_eq!(log[0]["delivery_id"], payload["id"]);
    assert_eq!(log[0]["seq"], payload["seq"]);
    assert_eq!(log[0]["event"], "create");
    assert_eq!(log[0]["status_code"], 200);
    assert_eq!(log[0]["error"], Value::Null);
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["state"], "delivered");
    assert!(log[0]["duration_ms"].as_i64().unwrap() >= 0);

    // An update arrives too; a delete (not subscribed) does not.
    let id = record["id"].as_str().unwrap();
    let (status, _) = server
        .patch(
            &format!("/api/collections/posts/records/{id}"),
            Some(&token),
            json!({"title": "changed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .delete(
            &format!("/api/collections/posts/records/{id}"),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A later create is the marker that everything before it was handled in order.
    let (status, _) = server
        .post(
            "/api/collections/posts/records",
            Some(&token),
            json!({"title": "marker"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let got = receiver.wait_for(3).await;
    let events: Vec<String> = got
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["create", "update", "create"]);
    assert_eq!(got[1].json()["record"]["data"]["title"], "changed");
    assert_eq!(got[2].json()["record"]["data"]["title"], "marker");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_accepts() {
    let (server, token) = fast_retrying_server().await;
    let (receiver, url) = Receiver::start(&[500, 500]).await;
    let webhook = create_webhook(&server, &token, &url, json!(["create"])).await;
    let webhook_id = webhook["id"].as_str().unwrap();
    let (status, _) = server
        .post(
            "/api/collections/posts/records",
            Some(&token),
            json!({"title": "try again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let got = receiver.wait_for(3).await;
    let log = wait_for_attempts(&server, &token, webhook_id, 3).await;
    // Three tries of one delivery: same id and the same body each time.
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[1].body, got[2].body);
    for request in &got {
        verify_signature(SECRET, request);
    }
    let attempts: Vec<i64> = log.iter().map(|a| a["attempt"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [1, 2, 3]);
    let statuses: Vec<i64> = log
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(log[0]["error"], "HTTP 500: receiver says hi");
    assert_eq!(log[2]["error"], Value::Null);
    assert!(
        log.iter()
            .all(|a| a["delivery_id"] == log[0]["delivery_id"])
    );
    // The newest view of the delivery: delivered, nothing more to try.
    let newest = attempts_newest(&server, &token, webhook_id).await;
    assert_eq!(newest["state"], "delivered");
    assert_eq!(newest["next_attempt_at"], Value::Null);

    // Redeliver: one more attempt of the same delivery.
    let delivery_id = log[0]["delivery_id"].as_str().unwrap();
    let (status, body) = redeliver(&server, &token, webhook_id, delivery_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], delivery_id);
    let got = receiver.wait_for(4).await;
    assert_eq!(got[3].body, got[0].body);
    assert_eq!(got[3].header("x-tinybase-delivery"), delivery_id);
    let log = wait_for_attempts(&server, &token, webhook_id, 4).await;
    assert_eq!(log[3]["attempt"], 4);

    // Redelivering what is not there.
    let (status, body) = redeliver(&server, &token, webhook_id, "nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
}

#[tokio::test]
async fn a_delivery_that_succeeded_at_once_is_sent_again_while_its_change_is_logged() {
    let (server, token) = server_with_posts(|s| s.realtime.change_log_max_rows = 1).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let webhook = create_webhook(&server, &token, &url, json!(["create"])).await;
    let webhook_id = webhook["id"].as_str().unwrap();
    for title in ["first", "second", "third"] {
        let (status, _) = server
            .post(
                "/api/collections/posts/records",
                Some(&token),
                json!({"title": title}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let got = receiver.wait_for(3).await;
    let log = wait_for_attempts(&server, &token, webhook_id, 3).await;
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["event"], "create");
    assert_eq!(log[0]["seq"], got[0].json()["seq"]);

    // Sent again: the same bytes under the same delivery id, logged as attempt 2.
    let first = log[0]["delivery_id"].as_str().unwrap().to_owned();
    assert_eq!(got[0].header("x-tinybase-delivery"), first);
    let (status, body) = redeliver(&server, &token, webhook_id, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], first.as_str());
    assert_eq!(body["attempts"], 1);
    let again = receiver.wait_for(4).await;
    assert_eq!(again[3].body, got[0].body);
    assert_eq!(again[3].header("x-tinybase-delivery"), first);
    let log = wait_for_attempts(&server, &token, webhook_id, 4).await;
    assert_eq!(log[3]["attempt"], 2);
    assert_eq!(log[3]["delivery_id"], first.as_str());

    // The change log keeps one change here: after pruning, the first delivery (now with
    // its body in the outbox) can still be sent again; the second, which succeeded at
    // once, cannot be rebuilt: the answer says so and nothing is sent.
    server.app.run_maintenance().await;
    let (status, body) = redeliver(&server, &token, webhook_id, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = receiver.wait_for(5).await;
    assert_eq!(again[4].body, got[0].body);
    let second = log[1]["delivery_id"].as_str().unwrap().to_owned();
    let (status, body) = redeliver(&server, &token, webhook_id, &second).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let error = assert_error(&body, "not_found");
    assert!(
        error["message"].as_str().unwrap().contains("change log"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 5);
}

#[tokio::test]
async fn changes_pruned_from_the_log_still_reach_a_webhook_that_lags_behind() {
    let (server, token) = server_with_posts(|s| s.realtime.change_log_max_rows = 1).await;
    // The receiver holds the first delivery, so the worker stays behind the change log.
    let (receiver, url) = Receiver::start_held().await;
    create_webhook(&server, &token, &url, json!(["create"])).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let (status, body) = server
            .post(
                "/api/collections/posts/records",
                Some(&token),
                json!({"title": format!("post {n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // The log keeps only the newest change; the four before it leave it now.
    server.app.run_maintenance().await;
    let (oldest, newest) = server
        .app
        .database()
        .read(tinybase::changes::bounds)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest, newest, "the change log was not pruned");
    receiver.release();

    // Every record reaches the receiver (one may come twice: at least once).
    for _ in 0..600 {
        let delivered: std::collections::BTreeSet<String> = receiver
            .received()
            .iter()
            .map(|r| r.json()["record"]["id"].as_str().unwrap().to_owned())
            .collect();
        if delivered.len() == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = receiver.received();
    let delivered: std::collections::BTreeSet<String> = got
        .iter()
        .map(|r| r.json()["record"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, ids.iter().cloned().collect(), "{got:?}");
    for request in &got {
        verify_signature(SECRET, request);
        let body = request.json();
        assert_eq!(
            request.header("x-tinybase-delivery"),
            body["id"].as_str().unwrap()
        );
    }
}

/// Asks for a delivery of the webhook to be sent again.
async fn redeliver(
    server: &TestServer,
    token: &str,
    webhook_id: &str,
    delivery_id: &str,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/api/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"),
            Some(token),
            json!({}),
        )
        .await
}

async fn attempts_newest(server: &TestServer, token: &str, webhook_id: &str) -> Value {
    attempts(server, token, webhook_id).await[0].clone()
}

#[tokio::test]
async fn an_unreachable_receiver_is_logged_as_such() {
    let (server, token) = fast_retrying_server().await;
    // A port nobody listens on: bind, note it, let it go.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let webhook = create_webhook(&server, &token, &url, json!(["create"])).await;
    let (status, _) = server
        .post(
            "/api/collections/posts/records",
            Some(&token),
            json!({"title": "lost?"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let log = wait_for_attempts(&server, &token, webhook["id"].as_str().unwrap(), 2).await;
    assert_eq!(log[0]["status_code"], Value::Null);
    let error = log[0]["error"].as_str().unwrap();
    assert!(error.starts_with("could not connect"), "{error}");
    assert_eq!(log[1]["state"], "pending");
}

#[tokio::test]
async fn webhooks_are_managed_by_admins_and_the_secret_stays_hidden() {
    let (server, token) = fast_retrying_server().await;
    let webhook = create_webhook(
        &server,
        &token,
        "https://hooks.example.com/in",
        json!(["delete"]),
    )
    .await;
    let id = webhook["id"].as_str().unwrap();
    let (status, listed) = server.get("/api/admin/webhooks", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["total_items"], 1);
    let (status, read) = server
        .get(&format!("/api/admin/webhooks/{id}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, changed) = server
        .patch(
            &format!("/api/admin/webhooks/{id}"),
            Some(&token),
            json!({"is_active": false, "secret": "a-rotated-secret-0000", "events": ["create", "delete"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["is_active"], false);
    assert_eq!(changed["events"], json!(["create", "delete"]));
    for shown in [&webhook, &listed, &read, &changed] {
        let text = shown.to_string();
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    // Not for users.
    let (user, _) = server.register("user@example.com", "user-password").await;
    let (status, _) = server.get("/api/admin/webhooks", Some(&user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.get("/api/admin/webhooks", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = server
        .delete(&format!("/api/admin/webhooks/{id}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/api/admin/webhooks/{id}"),
        format!("/api/admin/webhooks/{id}/deliveries"),
    ] {
        let (status, body) = server.get(&path, Some(&token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_error(&body, "not_found");
    }
}

#[tokio::test]
async fn bad_webhooks_are_refused_and_nothing_is_stored() {
    let (server, token) = fast_retrying_server().await;
    let cases = [
        (
            json!({"url": "ftp://example.com/x", "collections": ["posts"], "events": ["create"], "secret": SECRET}),
            vec!["url"],
        ),
        (
            json!({"url": "not a url", "collections": ["posts"], "events": ["create"], "secret": SECRET}),
            vec!["url"],
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "collections": ["posts"], "events": ["created", "create"], "secret": SECRET}),
            vec!["events.0"],
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "collections": ["nope"], "events": ["create"], "secret": SECRET}),
            vec!["collections.0"],
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "collections": [], "events": [], "secret": "short"}),
            vec!["collections", "events", "secret"],
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "collections": ["posts", "posts"], "events": ["create", "create"], "secret": SECRET}),
            vec!["collections.1", "events.1"],
        ),
    ];
    for (body, fields) in cases {
        let (status, answer) = server
            .post("/api/admin/webhooks", Some(&token), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        assert_error(&answer, "validation_failed");
        assert_eq!(field_error_keys(&answer), fields, "{body}");
    }
    // Missing fields and unknown ones are refused too.
    for body in [
        json!({"url": "http://127.0.0.1:1/x", "collections": ["posts"], "events": ["create"]}),
        json!({"url": "http://127.0.0.1:1/x", "collections": ["posts"], "events": ["create"], "secret": SECRET, "extra": 1}),
    ] {
        let (status, answer) = server
            .post("/api/admin/webhooks", Some(&token), body.clone())
            .await;
        assert!(status.is_client_error(), "{body} → {status} {answer}");
    }
    let (_, listed) = server.get("/api/admin/webhooks", Some(&token)).await;
    assert_eq!(listed["total_items"], 0, "{listed}");

    // A bad change leaves the webhook as it was.
    let webhook = create_webhook(&server, &token, "http://127.0.0.1:1/x", json!(["create"])).await;
    let id = webhook["id"].as_str().unwrap();
    let (status, answer) = server
        .patch(
            &format!("/api/admin/webhooks/{id}"),
            Some(&token),
            json!({"url": "mailto:a@b.c", "events": ["create"], "is_active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(field_error_keys(&answer), ["url"]);
    let (_, read) = server
        .get(&format!("/api/admin/webhooks/{id}"), Some(&token))
        .await;
    assert_eq!(read, webhook);
}

/// Writes a database at `path` as the last version before webhook cursors left it
/// (migrations 1–9): a webhook whose fan-out had copied changes up to seq 7 into the
/// outbox, one delivery delivered (with its attempt logged) and one still pending.
fn write_database_before_cursors(path: &std::path::Path, url: &str) {
    use tinybase::db::rusqlite;
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
    )
    .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name[..4].parse().unwrap();
        if version > 9 {
            continue;
        }
        conn.execute_batch(&std::fs::read_to_string(&file).unwrap())
            .unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2, '2026-01-01T00:00:00.000Z')",
            tinybase::db::rusqlite::params![version, name],
        )
        .unwrap();
    }
    // An hour ago: recent enough that the start-up maintenance keeps the log.
    let at = tinybase::db::format_timestamp(chrono::Utc::now() - chrono::Duration::hours(1));
    conn.execute_batch(&format!(
        "INSERT INTO webhooks (id, url, collections, events, secret, is_active, after_seq,
             created_at, updated_at)
         VALUES ('w1', '{url}', '[\"posts\"]', '[\"create\"]', '{SECRET}', 1, 2, '{at}', '{at}');
         INSERT INTO webhook_cursor (id, seq) VALUES (1, 7);
         INSERT INTO webhook_deliveries (id, webhook_id, seq, event, collection, body, state,
             attempts, next_attempt_at, retry_until, created_at, updated_at)
         VALUES ('d-done', 'w1', 5, 'create', 'posts', '{{\"id\":\"d-done\"}}', 'delivered', 1,
                 NULL, '2999-01-01T00:00:00.000Z', '{at}', '{at}'),
                ('d-due', 'w1', 6, 'create', 'posts', '{{\"id\":\"d-due\"}}', 'pending', 0,
                 '{at}', '2999-01-01T00:00:00.000Z', '{at}', '{at}');
         INSERT INTO webhook_attempts (id, delivery_id, webhook_id, attempt, status_code, error,
             duration_ms, created_at)
         VALUES ('a1', 'd-done', 'w1', 1, 204, NULL, 3, '{at}');"
    ))
    .unwrap();
}

#[tokio::test]
async fn a_database_from_before_cursors_keeps_its_deliveries_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let (receiver, url) = Receiver::start(&[]).await;
    write_database_before_cursors(&path, &url);
    let db_url = path.display().to_string();
    let server = TestServer::start_with(move |s| s.database.url = db_url).await;
    let token = server.admin_token().await;

    // The pending delivery goes out with the body the outbox holds.
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].body, r#"{"id":"d-due"}"#);
    assert_eq!(got[0].header("x-tinybase-delivery"), "d-due");
    verify_signature(SECRET, &got[0]);
    let log = wait_for_attempts(&server, &token, "w1", 2).await;
    let summary: Vec<(String, i64, String, String, i64)> = log
        .iter()
        .map(|a| {
            (
                a["delivery_id"].as_str().unwrap().to_owned(),
                a["seq"].as_i64().unwrap(),
                a["event"].as_str().unwrap().to_owned(),
                a["state"].as_str().unwrap().to_owned(),
                a["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("d-done".into(), 5, "create".into(), "delivered".into(), 1),
            ("d-due".into(), 6, "create".into(), "delivered".into(), 1),
        ]
    );
    assert!(log.iter().all(|a| a["collection"] == "posts"), "{log:?}");
    // The worker resumes after what fan-out had copied.
    let sent_seq: i64 = server
        .app
        .database()
        .read(|conn| {
            Ok(
                conn.query_row("SELECT sent_seq FROM webhooks WHERE id = 'w1'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(sent_seq, 7);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
}
