//! Upgrading: a database written by an older TinyBase (only the first migration applied,
//! data stored the way that version stored it) is brought to the current schema when a
//! server starts on it, and everything in it still works over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use chrono::{Duration, Utc};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::db::format_timestamp;
use tinybase::db::rusqlite::{self, params};

/// The first migration exactly as it shipped.
const FIRST_MIGRATION: &str = include_str!("../../src/db/migrations/0001_initial.sql");

const ADMIN_ID: &str = "01900000-0000-7000-8000-00000000a001";
const ANN_ID: &str = "01900000-0000-7000-8000-00000000a002";
const COLLECTION_ID: &str = "01900000-0000-7000-8000-00000000c001";
const CALL_ID: &str = "01900000-0000-7000-8000-00000000f001";
const SCHEDULE_ID: &str = "01900000-0000-7000-8000-00000000e001";

fn record_id(n: usize) -> String {
    format!("01900000-0000-7000-8000-0000000000{n:02}")
}

/// Writes a version-1 database at `path` the way a version-1 server would have: the
/// migration table, the first migration, an admin and a user with a session, a collection
/// with records, a call record and a schedule. Returns the user's bearer token.
fn write_version_one_database(path: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         );",
    )
    .unwrap();
    conn.execute_batch(FIRST_MIGRATION).unwrap();
    let long_ago = format_timestamp(Utc::now() - Duration::days(100));
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial', ?1)",
        [&long_ago],
    )
    .unwrap();
    for (id, email, password, is_admin) in [
        (
            ADMIN_ID,
            "old-admin@example.com",
            "old-admin-password",
            true,
        ),
        (ANN_ID, "ann@example.com", "ann-password", false),
    ] {
        let hash = tinybase::auth::password::hash_password(password).unwrap();
        conn.execute(
            "INSERT INTO users (id, email, password_hash, is_admin, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![id, email, hash, is_admin, long_ago],
        )
        .unwrap();
    }
    let session = tinybase::auth::token::generate().unwrap();
    conn.execute(
        "INSERT INTO auth_tokens (id, user_id, token_hash, created_at, expires_at)
         VALUES ('01900000-0000-7000-8000-00000000b001', ?1, ?2, ?3, ?4)",
        params![
            ANN_ID,
            session.hash,
            long_ago,
            format_timestamp(Utc::now() + Duration::days(1))
        ],
    )
    .unwrap();
    // Options as a first-version server wrote them (no max_record_bytes yet).
    conn.execute(
        "INSERT INTO collections (id, name, label, schema, options, created_at, updated_at)
         VALUES (?1, 'notes', 'Notes', ?2, ?3, ?4, ?4)",
        params![
            COLLECTION_ID,
            json!({"fields": [
                {"name": "title", "type": "string", "required": true, "max_length": 50},
                {"name": "rating", "type": "int", "min": 0, "max": 5},
                {"name": "tags", "type": "list[string]"},
            ]})
            .to_string(),
            json!({"list_rule": "public", "view_rule": "public", "create_rule": "auth",
                   "update_rule": "owner", "delete_rule": "owner"})
            .to_string(),
            long_ago
        ],
    )
    .unwrap();
    for n in 0..3 {
        let at = format_timestamp(Utc::now() - Duration::days(90 - i64::try_from(n).unwrap()));
        conn.execute(
            "INSERT INTO records (id, collection_id, owner_id, data, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![
                record_id(n),
                COLLECTION_ID,
                ANN_ID,
                json!({"title": format!("note {n}"), "rating": n + 2, "tags": ["old", "kept"]})
                    .to_string(),
                at
            ],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO function_calls (id, function_name, status, trigger_type, started_at,
             finished_at, duration_ms, created_at)
         VALUES (?1, 'gone_function', 'succeeded', 'manual', ?2, ?2, 12, ?2)",
        params![CALL_ID, format_timestamp(Utc::now() - Duration::days(1))],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO function_schedules (id, name, function_name, schedule, input, is_active,
             next_run_at, created_by_user_id, created_at, updated_at)
         VALUES (?1, 'yearly', 'gone_function', ?2, ?3, 1, '2099-01-01T00:00:00.000000Z', ?4, ?5, ?5)",
        params![
            SCHEDULE_ID,
            json!({"method": "cron", "cron": "0 0 1 1 *", "timezone": "UTC"}).to_string(),
            json!({"x": 1}).to_string(),
            ADMIN_ID,
            long_ago
        ],
    )
    .unwrap();
    session.token
}

/// How many migrations this build ships (`src/db/migrations/NNNN_*.sql`).
/// The versions of the shipped migration files (`NNNN_name.sql`), in order.
fn shipped_migrations() -> Vec<i64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/migrations");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| name[..4].parse().unwrap())
        .collect();
    versions.sort_unstable();
    versions
}

/// Names of the indexes on `table`.
async fn indexes(server: &TestServer, table: &'static str) -> Vec<String> {
    server
        .app
        .database()
        .read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?;
            let names = stmt
                .query_map([table], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(names)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_one_database_upgrades_with_its_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let ann = write_version_one_database(&path);

    let url = path.display().to_string();
    let server = TestServer::start_with(move |s| s.database.url = url).await;

    // Every migration is recorded, once, and the later ones' schema changes are there.
    let versions: Vec<i64> = server
        .app
        .database()
        .read(|conn| {
            let mut stmt =
                conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
            let versions = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(versions)
        })
        .await
        .unwrap();
    let shipped = shipped_migrations();
    assert!(shipped.len() >= 3, "{shipped:?} migration files");
    assert_eq!(versions, shipped);
    let records_indexes = indexes(&server, "records").await;
    assert!(
        records_indexes.contains(&"records_collection_order".to_owned())
            && !records_indexes.contains(&"records_collection_created".to_owned()),
        "{records_indexes:?}"
    );

    // Accounts: the old password and the old session still work, with their rights.
    let admin = server
        .login("old-admin@example.com", "old-admin-password")
        .await;
    let (status, me) = server.get("/api/auth/me", Some(&ann)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], ANN_ID);
    assert_eq!(me["email"], "ann@example.com");
    let (status, _) = server.get("/api/admin/users", Some(&ann)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, users) = server.get("/api/admin/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    // The two old accounts plus the test harness's own admin.
    assert_eq!(users["total_items"], 3, "{users}");

    // The collection and its records, as stored.
    let (status, notes) = server.get("/api/collections/notes", None).await;
    assert_eq!(status, StatusCode::OK, "{notes}");
    assert_eq!(notes["id"], COLLECTION_ID);
    assert_eq!(notes["label"], "Notes");
    assert_eq!(notes["schema"]["fields"][0]["max_length"], 50, "{notes}");
    assert_eq!(notes["options"]["update_rule"], "owner", "{notes}");
    let (status, page) = server
        .get("/api/collections/notes/records?sort=-rating", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total_items"], 3, "{page}");
    let listed: Vec<(Value, Value, Value)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].clone(), r["owner_id"].clone(), r["data"].clone()))
        .collect();
    let expected: Vec<(Value, Value, Value)> = (0..3)
        .rev()
        .map(|n| {
            (
                json!(record_id(n)),
                json!(ANN_ID),
                json!({"title": format!("note {n}"), "rating": n + 2, "tags": ["old", "kept"]}),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    let (status, filtered) = server
        .get(
            "/api/collections/notes/records?filter=rating%20%3E%3D%203",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(filtered["total_items"], 2, "{filtered}");
    // The owner still owns them; the schema still validates.
    let one = format!("/api/collections/notes/records/{}", record_id(0));
    let (status, changed) = server.patch(&one, Some(&ann), json!({"rating": 5})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["title"], "note 0");
    let (status, refused) = server.patch(&one, Some(&ann), json!({"rating": 6})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, created) = server
        .post(
            "/api/collections/notes/records",
            Some(&ann),
            json!({"title": "new"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The call history and the schedule.
    let (status, call) = server
        .get(
            &format!("/api/admin/functions/calls/{CALL_ID}"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["function_name"], "gone_function");
    assert_eq!(call["duration_ms"], 12);
    let (status, schedule) = server
        .get(&format!("/api/admin/schedules/{SCHEDULE_ID}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{schedule}");
    assert_eq!(schedule["name"], "yearly");
    assert_eq!(schedule["schedule"]["cron"], "0 0 1 1 *", "{schedule}");
    assert_eq!(schedule["input"], json!({"x": 1}));
    assert_eq!(schedule["is_active"], true);
    assert_eq!(schedule["created_by_user_id"], ADMIN_ID);

    // Starting again on the upgraded file applies nothing twice.
    drop(server);
    let url = path.display().to_string();
    let again = TestServer::start_with(move |s| s.database.url = url).await;
    let count: i64 = again
        .app
        .database()
        .read(
            |conn| Ok(conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?),
        )
        .await
        .unwrap();
    assert_eq!(count, i64::try_from(shipped.len()).unwrap());
    let (status, page) = again.get("/api/collections/notes/records", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total_items"], 4, "{page}");
}
