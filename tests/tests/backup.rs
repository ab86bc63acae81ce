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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_with_files_copies_the_uploads_beside_the_database() {
    let (_guard, dir) = workdir();
    let server = Server::start(&dir, &["--port", "0"], &ADMIN).unwrap();
    let (_, login) = common::login(&server.base, "keeper@example.com", "keeper-password").await;
    let token = login["token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let schema = json!({"name": "docs", "schema": {"fields": [{"name": "doc", "type": "file"}]}});
    let created = client
        .post(format!("{}/api/collections", server.base))
        .bearer_auth(&token)
        .json(&schema)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let collection: Value = created.json().await.unwrap();
    let form = reqwest::multipart::Form::new().part(
        "doc",
        reqwest::multipart::Part::bytes(b"the contract".to_vec()).file_name("contract.txt"),
    );
    let uploaded = client
        .post(format!("{}/api/collections/docs/records", server.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let record: Value = uploaded.json().await.unwrap();
    let name = record["data"]["doc"].as_str().unwrap();

    // Without the flag: the database only, and a line saying where the files are.
    let out = run_app(&dir, &["backup", "plain.db"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("files: not copied"), "{stdout}");
    assert!(!dir.join("plain.db.files").exists());

    // With it, while the server runs: the stored file, byte for byte, under the same key.
    let out = run_app(&dir, &["backup", "full.db", "--with-files"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("copied 1 files (12 bytes)"), "{stdout}");
    let key = format!(
        "{}/{}/{name}",
        collection["id"].as_str().unwrap(),
        record["id"].as_str().unwrap()
    );
    assert_eq!(
        std::fs::read(dir.join("full.db.files").join(&key)).unwrap(),
        b"the contract"
    );

    // An existing files folder is never overwritten, and the database copy is not made.
    std::fs::create_dir(dir.join("again.db.files")).unwrap();
    let out = run_app(&dir, &["backup", "again.db", "--with-files"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join("again.db").exists());

    // S3 files are kept by the bucket: refused before anything is written.
    let out = run_app(
        &dir,
        &["backup", "s3.db", "--with-files"],
        &[
            ("TINYBASE_STORAGE_BACKEND", "s3"),
            ("TINYBASE_STORAGE_S3_BUCKET", "uploads"),
            ("TINYBASE_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("versioning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("s3.db").exists());
}
