//! Backups while serving, the admin download, and restores that refuse to run under a
//! live server or from a bad file.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Server, run_app, workdir};
use serde_json::{Value, json};

const ADMIN: [(&str, &str); 2] = [
    ("TINYBASE_ADMIN_EMAIL", "keeper@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "keeper-password"),
];

async fn titles(base: &str, token: &str) -> Vec<String> {
    let body: Value = reqwest::Client::new()
        .get(format!("{base}/api/collections/notes/records?per_page=500"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn add(base: &str, token: &str, title: &str) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/collections/notes/records"))
        .bearer_auth(token)
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_while_serving_then_restore_after_stopping() {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &ADMIN).unwrap();
    let (_, login) = common::login(&server.base, "keeper@example.com", "keeper-password").await;
    let token = login["token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/api/collections", server.base))
        .bearer_auth(&token)
        .json(
            &json!({"name": "notes", "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    add(&server.base, &token, "before the backup").await;

    // The command line, while the server runs.
    let out = run_app(&dir, &["backup", "copy.db"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("copy.db").is_file());
    let out = run_app(&dir, &["backup", "copy.db"], &[]);
    assert!(
        !out.status.success(),
        "an existing file is never overwritten"
    );

    // The admin download.
    let download = client
        .get(format!("{}/api/admin/backup", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(
        download.headers()["content-type"],
        "application/vnd.sqlite3"
    );
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let bytes = download.bytes().await.unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let anonymous = client
        .get(format!("{}/api/admin/backup", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    add(&server.base, &token, "after the backup").await;
    assert_eq!(titles(&server.base, &token).await.len(), 2);

    // No restore under a running server.
    let out = run_app(&dir, &["restore", "copy.db"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a server is running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    server.terminate();
    assert!(server.wait().success());

    // A file that is not a database is refused and changes nothing.
    std::fs::write(dir.join("junk.db"), b"definitely not sqlite").unwrap();
    let out = run_app(&dir, &["restore", "junk.db"], &[]);
    assert_eq!(out.status.code(), Some(1));

    let out = run_app(&dir, &["restore", "copy.db"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let (_, login) = common::login(&server.base, "keeper@example.com", "keeper-password").await;
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(
        titles(&server.base, &token).await,
        vec!["before the backup".to_owned()]
    );
}
