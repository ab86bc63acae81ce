//! Continuous replication with the real Litestream: writes reach a file replica and an
//! S3 replica (moto, on loopback); a primary killed with SIGKILL comes back from the
//! replica elsewhere with every write; point-in-time restore; a Litestream that dies is
//! restarted; shutdown ships the last write; start-up refuses what cannot work.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::peers::{Moto, peer};
use common::{Server, run_app, workdir};
use serde_json::{Value, json};
use tinybase::db::rusqlite::{Connection, OpenFlags};

const ADMIN: [(&str, &str); 2] = [
    ("TINYBASE_ADMIN_EMAIL", "replica@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "replica-password"),
];

/// How long the replica may take to show a write (sync interval in these tests: 250 ms).
const CATCH_UP: Duration = Duration::from_secs(60);

/// Settings for a file replica in `replica`, as environment variables.
fn file_replication(replica: &Path, sync_interval_ms: u32) -> Vec<(String, String)> {
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
            sync_interval_ms.to_string(),
        ),
    ]
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn with_admin(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut env = pairs(owned);
    env.extend(ADMIN);
    env
}

/// Logs in as the admin and creates the `notes` collection.
async fn admin_with_notes(base: &str) -> String {
    let (status, body) = common::login(base, ADMIN[0].1, ADMIN[1].1).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let created = reqwest::Client::new()
        .post(format!("{base}/api/collections"))
        .bearer_auth(&token)
        .json(
            &json!({"name": "notes", "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    token
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

/// The titles of the notes in the database file at `db`, sorted.
fn titles_in(db: &Path) -> Vec<String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(r.data, '$.title') FROM records r \
             JOIN collections c ON c.id = r.collection_id WHERE c.name = 'notes' \
             ORDER BY 1",
        )
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Runs `restore --from-replica` (with `extra` arguments) into `db` from `dir`.
fn restore_into(dir: &Path, db: &Path, replication: &[(String, String)], extra: &[&str]) {
    let url = db.display().to_string();
    let mut env = pairs(replication);
    env.push(("TINYBASE_DB_URL", &url));
    let mut args = vec!["restore", "--from-replica"];
    args.extend(extra);
    let out = run_app(dir, &args, &env);
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restores the replica into a scratch file until it holds `wanted` (sorted).
fn wait_for_replica(scratch: &Path, replication: &[(String, String)], wanted: &[&str]) {
    let db = scratch.join("probe.db");
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let url = db.display().to_string();
        let mut env = pairs(replication);
        env.push(("TINYBASE_DB_URL", &url));
        let out = run_app(scratch, &["restore", "--from-replica"], &env);
        if out.status.success() && titles_in(&db) == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never held {wanted:?}; last restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn kill_hard(server: &mut Server) {
    server.signal("KILL");
    server.wait();
}

/// Whether `pid` is a live process (an exited one not yet reaped has no command line).
fn is_running(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| !cmdline.is_empty())
}

/// The pid in a `Litestream started pid=…` log line.
fn litestream_pid(line: &str) -> u32 {
    line.split("pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_mid_life_comes_back_from_a_file_replica_elsewhere() {
    let (_guard, dir) = workdir();
    let replica = dir.join("replica");
    let replication = file_replication(&replica, 250);
    let mut server = Server::start(&dir, &["--port", "0"], &with_admin(&replication)).unwrap();
    let started = server
        .wait_for_log(Duration::from_secs(5), |l| l.contains("Litestream started"))
        .unwrap_or_else(|| panic!("{:?}", server.log));
    let orphan = litestream_pid(&started);
    let token = admin_with_notes(&server.base).await;
    for title in ["one", "two", "three"] {
        add(&server.base, &token, title).await;
    }
    let scratch = dir.join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    wait_for_replica(&scratch, &replication, &["one", "three", "two"]);

    // The status compares what Litestream took from the database with the replica.
    let out = run_app(
        &dir,
        &["replication", "status", "--json"],
        &pairs(&replication),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["replica"], format!("file://{}", replica.display()));
    assert!(status["replica_txid"].is_string(), "{status}");
    assert!(status["last_sync_at"].is_string(), "{status}");

    // No restore onto the database a server is running on.
    let out = run_app(&dir, &["restore", "--from-replica"], &pairs(&replication));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a server is running"), "{stderr}");

    kill_hard(&mut server);
    // Litestream may outlive the server it ran beside (until it next writes to its
    // closed log pipe); a new server on the same database never runs beside it.
    let mut server = Server::start(&dir, &["--port", "0"], &pairs(&replication)).unwrap();
    let started = server
        .wait_for_log(Duration::from_secs(20), |l| {
            l.contains("Litestream started")
        })
        .unwrap_or_else(|| panic!("{:?}", server.log));
    assert_ne!(litestream_pid(&started), orphan);
    assert!(!is_running(orphan), "the leftover Litestream still runs");
    server.terminate();
    assert!(server.wait().success(), "{:?}", server.log);

    // A new machine: only the replica settings, an empty directory.
    let (_guard2, fresh) = workdir();
    restore_into(&fresh, &fresh.join("tinybase.db"), &replication, &[]);
    let server = Server::start(&fresh, &["--port", "0"], &[]).unwrap();
    let (status, login) = common::login(&server.base, ADMIN[0].1, ADMIN[1].1).await;
    assert_eq!(status, 200, "the admin came back too: {login}");
    let body: Value = reqwest::Client::new()
        .get(format!("{}/api/collections/notes/records", server.base))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total_items"], 3, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_restore_returns_exactly_the_first_of_two_writes() {
    let (_guard, dir) = workdir();
    let replication = file_replication(&dir.join("replica"), 250);
    let server = Server::start(&dir, &["--port", "0"], &with_admin(&replication)).unwrap();
    let token = admin_with_notes(&server.base).await;
    add(&server.base, &token, "first").await;
    let scratch = dir.join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    wait_for_replica(&scratch, &replication, &["first"]);
    // The replica keeps times to the millisecond; a clear second on each side of the
    // chosen time keeps the two writes apart.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    add(&server.base, &token, "second").await;
    wait_for_replica(&scratch, &replication, &["first", "second"]);

    // Into a directory that does not exist yet, as on a new machine.
    let target = dir.join("new/then.db");
    restore_into(&scratch, &target, &replication, &["--timestamp", &between]);
    assert_eq!(titles_in(&target), ["first"]);

    // A time before anything was replicated holds nothing to restore.
    let url = dir.join("never.db").display().to_string();
    let mut env = pairs(&replication);
    env.push(("TINYBASE_DB_URL", &url));
    let out = run_app(
        &scratch,
        &[
            "restore",
            "--from-replica",
            "--timestamp",
            "2001-01-01T00:00:00Z",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join("never.db").exists());
    // A time that is not one is refused before anything happens.
    let out = run_app(
        &scratch,
        &["restore", "--from-replica", "--timestamp", "yesterday"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RFC 3339"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_litestream_that_dies_is_restarted_and_catches_up() {
    let (_guard, dir) = workdir();
    let replication = file_replication(&dir.join("replica"), 250);
    let mut server = Server::start(&dir, &["--port", "0"], &with_admin(&replication)).unwrap();
    let started = server
        .wait_for_log(Duration::from_secs(5), |l| l.contains("Litestream started"))
        .unwrap();
    let first = litestream_pid(&started);
    let token = admin_with_notes(&server.base).await;

    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(
        server
            .wait_for_log(Duration::from_secs(10), |l| l
                .contains("Litestream stopped unexpectedly"))
            .is_some(),
        "{:?}",
        server.log
    );
    let restarted = server
        .wait_for_log(Duration::from_secs(30), |l| {
            l.contains("Litestream started") && litestream_pid(l) != first
        })
        .unwrap_or_else(|| panic!("no restart: {:?}", server.log));
    assert_ne!(litestream_pid(&restarted), first);

    add(&server.base, &token, "after the restart").await;
    let scratch = dir.join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    wait_for_replica(&scratch, &replication, &["after the restart"]);

    // Admins see it all over HTTP.
    let client = reqwest::Client::new();
    let url = format!("{}/api/admin/replication", server.base);
    let report: Value = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["enabled"], true, "{report}");
    assert_eq!(report["litestream_running"], true, "{report}");
    assert_eq!(report["restarts"], 1, "{report}");
    assert!(
        report["last_exit"].as_str().unwrap().contains("signal: 9"),
        "{report}"
    );
    assert!(report["status"]["replica_txid"].is_string(), "{report}");
    assert_eq!(report["error"], Value::Null, "{report}");
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ships_the_last_write() {
    let (_guard, dir) = workdir();
    // A sync interval far longer than the test: only the last sync on the way out
    // can ship the write.
    let replication = file_replication(&dir.join("replica"), 600_000);
    let mut server = Server::start(&dir, &["--port", "0"], &with_admin(&replication)).unwrap();
    let token = admin_with_notes(&server.base).await;
    add(&server.base, &token, "just before the end").await;
    server.terminate();
    assert!(server.wait().success(), "{:?}", server.log);
    assert!(
        server
            .log
            .iter()
            .any(|l| l.contains("Litestream stopped after shipping the last writes")),
        "{:?}",
        server.log
    );
    let target = dir.join("after.db");
    restore_into(&dir, &target, &replication, &[]);
    assert_eq!(titles_in(&target), ["just before the end"]);
}

#[test]
fn serve_refuses_to_start_when_replication_cannot_work() {
    let (_guard, dir) = workdir();
    let replica = format!("file://{}", dir.join("replica").display());

    let out = run_app(
        &dir,
        &["serve", "--port", "0"],
        &[
            ("TINYBASE_REPLICATION_URL", &replica),
            (
                "TINYBASE_REPLICATION_LITESTREAM_BIN",
                "/nonexistent/litestream",
            ),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot run Litestream `/nonexistent/litestream`")
            && stderr.contains("it was not found"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");

    let out = run_app(
        &dir,
        &["serve", "--port", "0"],
        &[("TINYBASE_REPLICATION_URL", "ftp://backups/app")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`replication.url`") && stderr.contains("unsupported replica URL scheme"),
        "{stderr}"
    );

    // Without replication settings there is nothing to restore from.
    let out = run_app(&dir, &["restore", "--from-replica"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replication is not configured"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_mid_life_comes_back_from_an_s3_replica() {
    let moto = Moto::start();
    moto.create_bucket("backups").await;
    let (_guard, dir) = workdir();

    // A bucket that does not exist stops start-up with Litestream's reason.
    let missing = moto.replication("no-such-bucket");
    let out = run_app(&dir, &["serve", "--port", "0"], &pairs(&missing));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Litestream could not read the replica s3://no-such-bucket/prod/app"),
        "{stderr}"
    );

    let replication = moto.replication("backups");
    let mut server = Server::start(&dir, &["--port", "0"], &with_admin(&replication)).unwrap();
    let token = admin_with_notes(&server.base).await;
    for title in ["alpha", "beta"] {
        add(&server.base, &token, title).await;
    }
    let scratch = dir.join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    wait_for_replica(&scratch, &replication, &["alpha", "beta"]);
    kill_hard(&mut server);

    let (_guard2, fresh) = workdir();
    restore_into(&fresh, &fresh.join("tinybase.db"), &replication, &[]);
    assert_eq!(titles_in(&fresh.join("tinybase.db")), ["alpha", "beta"]);
    let check: String = Connection::open(fresh.join("tinybase.db"))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
