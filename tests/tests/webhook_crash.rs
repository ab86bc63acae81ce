//! Webhook delivery survives SIGKILL: every acknowledged create reaches the receiver
//! after the restart, and a change delivered twice comes under one delivery id (at least
//! once, never as two different deliveries).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use common::{Server, workdir};
use serde_json::{Value, json};

const ENV: [(&str, &str); 3] = [
    ("TINYBASE_ADMIN_EMAIL", "hooks@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "hooks-password"),
    ("TINYBASE_WEBHOOKS_RETRY_INITIAL_DELAY_MS", "100"),
];

/// Every body received, and whether to accept them (500 otherwise).
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    accept: Arc<AtomicBool>,
}

async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let state = receiver.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let state = state.clone();
            async move {
                state
                    .bodies
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                if state.accept.load(Ordering::SeqCst) {
                    StatusCode::OK
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

fn kill_hard(server: &mut Server) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_survive_a_kill() {
    let (_guard, dir) = workdir();
    let (receiver, url) = start_receiver().await;
    let mut server = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    let (status, login) = common::login(&server.base, "hooks@example.com", "hooks-password").await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/api/collections", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "items", "schema": {"fields": [{"name": "n", "type": "int"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let hook = client
        .post(format!("{}/api/admin/webhooks", server.base))
        .bearer_auth(&token)
        .json(
            &json!({"url": url, "collections": ["items"], "events": ["create"],
                      "secret": "crash-test-secret-0123"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status().as_u16(), 201);

    // First the receiver accepts, then it fails everything: at the kill some changes are
    // delivered, some wait for a retry, and some may be in flight.
    receiver.accept.store(true, Ordering::SeqCst);
    let mut acknowledged = HashSet::new();
    for n in 0..60 {
        if n == 30 {
            receiver.accept.store(false, Ordering::SeqCst);
        }
        let response = client
            .post(format!("{}/api/collections/items/records", server.base))
            .bearer_auth(&token)
            .json(&json!({"n": n}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        acknowledged.insert(body["id"].as_str().unwrap().to_owned());
    }
    kill_hard(&mut server);

    receiver.accept.store(true, Ordering::SeqCst);
    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    // Wait for every acknowledged record to be delivered (no speed assertion).
    let mut delivered = HashSet::new();
    for _ in 0..1200 {
        delivered = receiver
            .bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["record"]["id"].as_str().unwrap().to_owned())
            .collect();
        if acknowledged.is_subset(&delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let missing: Vec<_> = acknowledged.difference(&delivered).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged creates never delivered",
        missing.len()
    );
    // At least once: a record seen twice came both times under one delivery id.
    let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
    for body in receiver.bodies.lock().unwrap().iter() {
        ids.entry(body["record"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(body["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.values().all(|set| set.len() == 1), "{ids:?}");
    assert_eq!(ids.len(), acknowledged.len());
    drop(server);
}
