//! The change log under every record write: one entry per committed create, update and
//! delete, whichever way the write came in, and none for a write that failed.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::TestServer;
use common::records::{record_path, records_path};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::changes::{self, Change, ChangeAction};

async fn log_after(server: &TestServer, seq: i64) -> Vec<Change> {
    server
        .app
        .database()
        .read(move |conn| changes::read_after(conn, seq, 1_000))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_record_write_is_logged_once_in_order_and_failed_ones_never() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "notes", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "code", "type": "string", "unique": true}]}}),
        )
        .await;
    let start = server.app.collections().change_feed().latest();

    let created = server
        .create_record("notes", Some(&admin), json!({"title": "one", "code": "a"}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Refused writes: invalid (422), duplicate (409), unknown record (404).
    let (status, _) = server
        .post(&records_path("notes"), Some(&admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server
        .post(
            &records_path("notes"),
            Some(&admin),
            json!({"title": "two", "code": "a"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server
        .delete(
            &record_path("notes", "01900000-0000-7000-8000-000000000000"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, updated) = server
        .patch(
            &record_path("notes", &id),
            Some(&admin),
            json!({"title": "uno"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A write through the record service directly (as functions and schedules do).
    let other = server
        .app
        .collections()
        .create_record(
            &tinybase::collections::Caller::system(),
            "notes",
            json!({"title": "from code"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    let (status, _) = server
        .delete(&record_path("notes", &id), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = log_after(&server, start).await;
    let summary: Vec<(ChangeAction, &str)> = log
        .iter()
        .map(|c| (c.action, c.record_id.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (ChangeAction::Create, id.as_str()),
            (ChangeAction::Update, id.as_str()),
            (ChangeAction::Create, other.id.as_str()),
            (ChangeAction::Delete, id.as_str()),
        ]
    );
    assert!(
        log.windows(2).all(|w| w[0].seq < w[1].seq),
        "strictly increasing"
    );
    assert!(log.iter().all(|c| c.collection == "notes"));
    // Each entry holds the record as the API printed it at that moment; a delete holds
    // the record as it was.
    let record = |i: usize| serde_json::from_str::<Value>(&log[i].record).unwrap();
    assert_eq!(record(0), created);
    assert_eq!(record(1), updated);
    assert_eq!(record(3), updated);
    // The feed announced the newest of them.
    assert_eq!(
        server.app.collections().change_feed().latest(),
        log.last().unwrap().seq
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_the_newest_entries_and_sequence_numbers_are_never_reused() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "notes", "schema": {"fields": [
            {"name": "n", "type": "int"}]}}),
        )
        .await;
    for n in 0..10 {
        server
            .create_record("notes", Some(&admin), json!({"n": n}))
            .await;
    }
    let db = server.app.database().clone();
    let removed = changes::prune(&db, 0, 3).await.unwrap();
    assert_eq!(removed, 7);
    let left = log_after(&server, 0).await;
    assert_eq!(left.len(), 3);
    let newest = left.last().unwrap().seq;
    // Sequence numbers keep rising after pruning: the next write continues after the
    // newest ever given out.
    changes::prune(&db, 0, 1).await.unwrap();
    server
        .create_record("notes", Some(&admin), json!({"n": 99}))
        .await;
    let after = log_after(&server, newest).await;
    assert_eq!(after.len(), 1);
    assert!(after[0].seq > newest);
    let bounds = db.read(changes::bounds).await.unwrap().unwrap();
    assert_eq!(bounds.1, after[0].seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_keeps_as_many_changes_as_the_settings_allow() {
    let server = TestServer::start_with(|s| s.realtime.change_log_max_rows = 4).await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "notes", "schema": {"fields": [
            {"name": "n", "type": "int"}]}}),
        )
        .await;
    let mut ids = Vec::new();
    for n in 0..10 {
        let record = server
            .create_record("notes", Some(&admin), json!({"n": n}))
            .await;
        ids.push(record["id"].as_str().unwrap().to_owned());
    }
    server.app.run_maintenance().await;
    let left: Vec<String> = log_after(&server, 0)
        .await
        .into_iter()
        .map(|change| change.record_id)
        .collect();
    assert_eq!(left, ids[6..], "the newest four stay");
}
