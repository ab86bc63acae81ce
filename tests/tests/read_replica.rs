//! `serve --replica` with the real Litestream following a file replica: a write on the
//! primary becomes readable on the replica (and reaches its realtime clients); a write
//! sent to the replica lands on the primary and then shows on the replica; with the
//! primary down the replica still serves reads and answers writes 503 at once; start-up
//! refuses a replica without the settings it needs. Through S3 (moto), with files in the
//! same S3 storage, a replica serves the records and the files the primary wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::peers::{Moto, peer};
use common::{Server, run_app, workdir};
use serde_json::{Value, json};

const ADMIN: (&str, &str) = ("replica@example.com", "replica-password");

/// How long a write may take to show on the replica (sync 250 ms + follow 100 ms here;
/// generous for a loaded machine).
const CATCH_UP: Duration = Duration::from_secs(60);

/// Longest any request to the replica may take; a forwarded write to a dead primary
/// must be answered, not left hanging (this only guards against a hang).
const NO_HANG: Duration = Duration::from_secs(20);

/// Replication settings shared by the primary and its replica.
fn replication(replica: &Path) -> Vec<(String, String)> {
    vec![
        (
            "TINYBASE_REPLICATION_URL".to_owned(),
            format!("file://{}", replica.display()),
        ),
        (
            "TINYBASE_REPLICATION_LITESTREAM_BIN".to_owned(),
            peer("litestream").display().to_string(),
        ),
        (
            "TINYBASE_REPLICATION_SYNC_INTERVAL_MS".to_owned(),
            "250".to_owned(),
        ),
    ]
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(NO_HANG).build().unwrap()
}

async fn titles(base: &str, token: &str) -> (u16, Vec<String>) {
    let response = client()
        .get(format!("{base}/api/collections/notes/records?per_page=500"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let mut titles: Vec<String> = body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["data"]["title"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    titles.sort();
    (status, titles)
}

/// Reads the replica until its notes are `wanted`.
async fn wait_for(base: &str, token: &str, wanted: &[&str]) {
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let (status, got) = titles(base, token).await;
        if status == 200 && got == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never showed {wanted:?}; last: {status} {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn add(base: &str, token: &str, title: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/api/collections/notes/records"))
        .bearer_auth(token)
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap()
}

/// Waits until the primary has shipped something (a replica refuses an empty one).
fn wait_for_first_sync(replica: &Path) {
    fn has_ltx(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|entry| {
                let path = entry.path();
                path.extension().is_some_and(|ext| ext == "ltx")
                    || (path.is_dir() && has_ltx(&path))
            })
        })
    }
    let deadline = Instant::now() + CATCH_UP;
    while !has_ltx(replica) {
        assert!(Instant::now() < deadline, "the primary never replicated");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a replica of `replica` following into its own directory, forwarding to `primary`.
fn start_replica(dir: &Path, replica: &Path, primary: &str) -> Server {
    let mut env = replication(replica);
    env.push((
        "TINYBASE_REPLICATION_PRIMARY_URL".to_owned(),
        primary.to_owned(),
    ));
    Server::start(dir, &["--port", "0", "--replica"], &pairs(&env))
        .unwrap_or_else(|log| panic!("the replica did not start: {log}"))
}

/// Opens a realtime stream on `base`, subscribes it to `notes` as `token`, and returns it.
async fn subscribe_to_notes(base: &str, token: &str) -> reqwest::Response {
    let mut stream = reqwest::Client::new()
        .get(format!("{base}/api/realtime"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let mut text = String::new();
    let client_id = loop {
        let chunk = tokio::time::timeout(NO_HANG, stream.chunk())
            .await
            .expect("the connected event")
            .unwrap()
            .expect("an open stream");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(data) = text
            .split("event: connected\ndata: ")
            .nth(1)
            .and_then(|rest| rest.split('\n').next())
        {
            let data: Value = serde_json::from_str(data).unwrap();
            break data["client_id"].as_str().unwrap().to_owned();
        }
    };
    let subscribed = client()
        .post(format!("{base}/api/realtime/{client_id}/subscriptions"))
        .bearer_auth(token)
        .json(&json!({"subscriptions": [{"collection": "notes"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        subscribed.status().as_u16(),
        200,
        "{:?}",
        subscribed.text().await
    );
    stream
}

/// Reads `stream` until an event mentions `needle`.
async fn wait_for_event(stream: &mut reqwest::Response, needle: &str) -> String {
    let deadline = Instant::now() + CATCH_UP;
    let mut text = String::new();
    while !text.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event with {needle}; got {text}"))
            .unwrap()
            .expect("an open stream");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_follows_the_primary_and_forwards_writes_to_it() {
    let (_guard, dir) = workdir();
    let replica_dir = dir.join("replica");
    let (primary_dir, follower_dir) = (dir.join("primary"), dir.join("follower"));
    std::fs::create_dir(&primary_dir).unwrap();
    std::fs::create_dir(&follower_dir).unwrap();
    let mut env = replication(&replica_dir);
    env.push(("TINYBASE_ADMIN_EMAIL".to_owned(), ADMIN.0.to_owned()));
    env.push(("TINYBASE_ADMIN_PASSWORD".to_owned(), ADMIN.1.to_owned()));
    let mut primary = Server::start(&primary_dir, &["--port", "0"], &pairs(&env)).unwrap();
    let (status, body) = common::login(&primary.base, ADMIN.0, ADMIN.1).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let created = client()
        .post(format!("{}/api/collections", primary.base))
        .bearer_auth(&token)
        .json(
            &json!({"name": "notes", "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        add(&primary.base, &token, "from primary").await.status(),
        201
    );

    wait_for_first_sync(&replica_dir);
    let mut replica = start_replica(&follower_dir, &replica_dir, &primary.base);
    // The collection, the admin's token and the record all came through the replica.
    wait_for(&replica.base, &token, &["from primary"]).await;
    assert!(
        replica
            .log
            .iter()
            .any(|l| l.contains("replica restored; following it")),
        "{:?}",
        replica.log
    );

    // Realtime on the replica is fed by the replicated change log.
    let mut stream = subscribe_to_notes(&replica.base, &token).await;
    assert_eq!(add(&primary.base, &token, "live").await.status(), 201);
    let events = wait_for_event(&mut stream, "live").await;
    assert!(events.contains("\"action\":\"create\""), "{events}");
    wait_for(&replica.base, &token, &["from primary", "live"]).await;

    // A write sent to the replica is the primary's at once, and the replica's soon.
    let forwarded = add(&replica.base, &token, "via replica").await;
    assert_eq!(forwarded.status().as_u16(), 201);
    assert_eq!(forwarded.headers()["x-tinybase-forwarded"], "primary");
    let (_, on_primary) = titles(&primary.base, &token).await;
    assert_eq!(on_primary, ["from primary", "live", "via replica"]);
    wait_for(
        &replica.base,
        &token,
        &["from primary", "live", "via replica"],
    )
    .await;
    // Bad input is the primary's to judge, and its answer comes back unchanged.
    let refused = client()
        .post(format!("{}/api/collections/notes/records", replica.base))
        .bearer_auth(&token)
        .json(&json!({"title": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "validation_failed", "{refused}");
    // Sign-ins are forwarded too: the token is issued (and stored) by the primary.
    let (status, body) = common::login(&replica.base, ADMIN.0, ADMIN.1).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = titles(&primary.base, body["token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let wrong = common::login(&replica.base, ADMIN.0, "not the password").await;
    assert_eq!(wrong.0, 401, "{}", wrong.1);

    // The primary goes away: reads go on, writes are refused at once with a clear error.
    primary.signal("KILL");
    primary.wait();
    let (status, got) = titles(&replica.base, &token).await;
    assert_eq!((status, got.len()), (200, 3));
    let refused = add(&replica.base, &token, "lost").await;
    assert_eq!(refused.status().as_u16(), 503);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "primary_unavailable", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("reads still work"), "{message}");
    let (status, body) = common::login(&replica.base, ADMIN.0, ADMIN.1).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("primary_unavailable"))
    );
    let (status, _) = titles(&replica.base, &token).await;
    assert_eq!(status, 200);

    // A replica stops cleanly, and its follower with it.
    replica.terminate();
    assert!(replica.wait().success(), "{:?}", replica.log);
    let leftovers: Vec<String> = std::fs::read_dir(&follower_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-litestream.pid"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the follower outlived the replica: {leftovers:?}"
    );
}

/// File storage in `bucket` on `moto`, as environment variables.
fn s3_storage(moto: &Moto, bucket: &str) -> Vec<(String, String)> {
    [
        ("TINYBASE_STORAGE_BACKEND", "s3"),
        ("TINYBASE_STORAGE_S3_BUCKET", bucket),
        ("TINYBASE_STORAGE_S3_ENDPOINT", &moto.endpoint),
        ("TINYBASE_STORAGE_S3_REGION", "us-east-1"),
        ("TINYBASE_STORAGE_S3_ACCESS_KEY_ID", "testing"),
        ("TINYBASE_STORAGE_S3_SECRET_ACCESS_KEY", "testing"),
        ("TINYBASE_STORAGE_S3_PATH_STYLE", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_follows_an_s3_replica_and_serves_files_from_the_same_bucket() {
    let (_guard, dir) = workdir();
    let moto = Moto::start();
    moto.create_bucket("backups").await;
    moto.create_bucket("files").await;
    let (primary_dir, follower_dir) = (dir.join("primary"), dir.join("follower"));
    std::fs::create_dir(&primary_dir).unwrap();
    std::fs::create_dir(&follower_dir).unwrap();
    let mut shared = moto.replication("backups");
    shared.extend(s3_storage(&moto, "files"));
    let mut env = shared.clone();
    env.push(("TINYBASE_ADMIN_EMAIL".to_owned(), ADMIN.0.to_owned()));
    env.push(("TINYBASE_ADMIN_PASSWORD".to_owned(), ADMIN.1.to_owned()));
    let primary = Server::start(&primary_dir, &["--port", "0"], &pairs(&env)).unwrap();
    let (status, body) = common::login(&primary.base, ADMIN.0, ADMIN.1).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let created = client()
        .post(format!("{}/api/collections", primary.base))
        .bearer_auth(&token)
        .json(&json!({"name": "notes", "schema": {"fields": [
            {"name": "title", "type": "string"},
            {"name": "attachment", "type": "file"},
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let contents = b"stored once, served by every node".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("data", r#"{"title": "with a file"}"#)
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(contents.clone()).file_name("note.txt"),
        );
    let uploaded = client()
        .post(format!("{}/api/collections/notes/records", primary.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let record: Value = uploaded.json().await.unwrap();

    // A new replica needs the primary to have shipped at least once.
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let listing = client()
            .get(format!(
                "{}/backups?list-type=2&prefix=prod/app",
                moto.endpoint
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if listing.contains(".ltx</Key>") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the primary never replicated: {listing}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut replica_env = shared.clone();
    replica_env.push((
        "TINYBASE_REPLICATION_PRIMARY_URL".to_owned(),
        primary.base.clone(),
    ));
    let mut replica = Server::start(
        &follower_dir,
        &["--port", "0", "--replica"],
        &pairs(&replica_env),
    )
    .unwrap_or_else(|log| panic!("the replica did not start: {log}"));
    wait_for(&replica.base, &token, &["with a file"]).await;

    // The file is read from the bucket the primary wrote it to.
    let url = format!(
        "{}/api/files/notes/{}/{}",
        replica.base,
        record["id"].as_str().unwrap(),
        record["data"]["attachment"].as_str().unwrap()
    );
    let download = client().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), contents);

    // Writes sent to the replica reach the primary and come back through S3.
    assert_eq!(
        add(&replica.base, &token, "via replica").await.status(),
        201
    );
    wait_for(&replica.base, &token, &["via replica", "with a file"]).await;
    replica.terminate();
    assert!(replica.wait().success(), "{:?}", replica.log);
}

#[test]
fn a_replica_refuses_to_start_without_its_settings() {
    let (_guard, dir) = workdir();
    let replica_dir = dir.join("replica");
    // No replication.url.
    let out = run_app(
        &dir,
        &["serve", "--port", "0", "--replica"],
        &[("TINYBASE_REPLICATION_PRIMARY_URL", "http://127.0.0.1:9")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replication.url"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    // No replication.primary_url.
    let out = run_app(
        &dir,
        &["serve", "--port", "0", "--replica"],
        &pairs(&replication(&replica_dir)),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replication.primary_url"), "{stderr}");
    // Both set, but the replica holds nothing yet (no primary ever replicated).
    std::fs::create_dir(&replica_dir).unwrap();
    let mut env = replication(&replica_dir);
    env.push((
        "TINYBASE_REPLICATION_PRIMARY_URL".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    ));
    let out = run_app(&dir, &["serve", "--port", "0", "--replica"], &pairs(&env));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not restore the replica"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}
