//! `POST /api/batch` over real HTTP: record writes in one transaction, each with its
//! own rules and validation, all applied or none, the failing one named by its index.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::record_path;
use common::{TestServer, assert_status_error};
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

async fn last_seq(server: &TestServer) -> i64 {
    log_after(server, 0).await.last().map_or(0, |c| c.seq)
}

/// `notes`: a required title, a unique slug; the owner alone changes or deletes.
async fn notes(server: &TestServer, admin: &str) {
    server
        .create_collection(
            admin,
            json!({"name": "notes", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "slug", "type": "string", "unique": true},
            ]}, "options": {"list_rule": "public", "view_rule": "public",
                            "create_rule": "auth", "update_rule": "owner", "delete_rule": "owner"}}),
        )
        .await;
}

fn id(record: &Value) -> &str {
    record["id"].as_str().unwrap()
}

async fn batch(server: &TestServer, token: Option<&str>, requests: Value) -> (StatusCode, Value) {
    server
        .post("/api/batch", token, json!({ "requests": requests }))
        .await
}

async fn titles(server: &TestServer) -> Vec<String> {
    let page = server
        .list_ok("notes", None, &[("sort", "title"), ("per_page", "500")])
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_applies_every_write_in_order_in_one_transaction() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(&server, &admin).await;
    let (user, account) = server.register("user@example.com", "password-1").await;
    let keep = server
        .create_record("notes", Some(&user), json!({"title": "keep"}))
        .await;
    let gone = server
        .create_record("notes", Some(&user), json!({"title": "gone"}))
        .await;
    let before = last_seq(&server).await;

    let (status, body) = batch(
        &server,
        Some(&user),
        json!([
            {"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "new a", "slug": "a"}},
            {"method": "post", "url": "/api/collections/notes/records", "body": {"title": "new b"}},
            {"method": "PATCH", "url": format!("/api/collections/notes/records/{}", id(&keep)), "body": {"title": "kept"}},
            {"method": "DELETE", "url": format!("/api/collections/notes/records/{}", id(&gone))},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let responses = body["responses"].as_array().unwrap();
    let statuses: Vec<u64> = responses
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 200, 204], "{body}");
    assert_eq!(
        responses[0]["body"]["data"],
        json!({"title": "new a", "slug": "a"})
    );
    assert_eq!(responses[0]["body"]["owner_id"], account["id"]);
    assert_eq!(responses[2]["body"]["id"], id(&keep));
    assert_eq!(responses[2]["body"]["data"]["title"], "kept");
    assert!(responses[3]["body"].is_null(), "{body}");
    assert_eq!(titles(&server).await, ["kept", "new a", "new b"]);
    let (status, _) = server.get(&record_path("notes", id(&gone)), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // One change-log entry per write, in the batch's order.
    let log = log_after(&server, before).await;
    let actions: Vec<ChangeAction> = log.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            ChangeAction::Create,
            ChangeAction::Create,
            ChangeAction::Update,
            ChangeAction::Delete
        ]
    );
    assert_eq!(log[2].record_id, id(&keep));
    assert_eq!(log[3].record_id, id(&gone));

    // A later request sees an earlier one's write: the second slug "a" is a duplicate.
    let answer = batch(
        &server,
        Some(&user),
        json!([
            {"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "c", "slug": "c"}},
            {"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "c2", "slug": "c"}},
        ]),
    )
    .await;
    let error = assert_status_error(&answer, StatusCode::CONFLICT, "conflict");
    assert_eq!(error["details"]["index"], 1, "{error}");
    assert_eq!(titles(&server).await, ["kept", "new a", "new b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_applies_nothing_and_is_named_by_index() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(&server, &admin).await;
    let (owner, _) = server.register("owner@example.com", "password-1").await;
    let (other, _) = server.register("other@example.com", "password-2").await;
    let mine = server
        .create_record("notes", Some(&owner), json!({"title": "mine"}))
        .await;
    let before = last_seq(&server).await;
    let create = |title: &str| json!({"method": "POST", "url": "/api/collections/notes/records", "body": {"title": title}});
    let patch_mine = json!({"method": "PATCH",
        "url": format!("/api/collections/notes/records/{}", id(&mine)), "body": {"title": "changed"}});
    let delete_mine = json!({"method": "DELETE",
        "url": format!("/api/collections/notes/records/{}", id(&mine))});

    // Validation: the third request lacks its required title.
    let answer = batch(
        &server,
        Some(&owner),
        json!([create("x"), patch_mine, {"method": "POST", "url": "/api/collections/notes/records", "body": {"slug": "s"}}]),
    )
    .await;
    let error = assert_status_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(error["details"]["index"], 2, "{error}");
    assert!(error["details"]["fields"]["title"].is_string(), "{error}");

    // Rules: another user may not delete the owner's note (403, the `owner` keyword).
    let answer = batch(
        &server,
        Some(&other),
        json!([create("y"), delete_mine.clone()]),
    )
    .await;
    let error = assert_status_error(&answer, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(error["details"]["index"], 1, "{error}");

    // Anonymous callers may not create (401), whatever comes first.
    let answer = batch(&server, None, json!([create("z")])).await;
    let error = assert_status_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(error["details"]["index"], 0, "{error}");

    // A missing record and a missing collection: 404 with the index.
    let answer = batch(
        &server,
        Some(&owner),
        json!([create("w"), {"method": "DELETE",
            "url": "/api/collections/notes/records/0190a1b2-0000-7000-8000-000000000000"}]),
    )
    .await;
    let error = assert_status_error(&answer, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(error["details"]["index"], 1, "{error}");
    let answer = batch(
        &server,
        Some(&owner),
        json!([create("v"), {"method": "POST", "url": "/api/collections/nope/records", "body": {}}]),
    )
    .await;
    let error = assert_status_error(&answer, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(error["details"]["index"], 1, "{error}");

    // Nothing of any of them was applied, and nothing reached the change log.
    assert_eq!(titles(&server).await, ["mine"]);
    assert!(log_after(&server, before).await.is_empty());

    // The same writes, all allowed, go through.
    let (status, body) = batch(&server, Some(&owner), json!([create("x"), delete_mine])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(titles(&server).await, ["x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batches_are_refused_before_anything_runs() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(&server, &admin).await;
    let create =
        json!({"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "t"}});

    let answer = batch(
        &server,
        Some(&admin),
        Value::Array(vec![create.clone(); 101]),
    )
    .await;
    let error = assert_status_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        error["details"]["fields"]["requests"].is_string(),
        "{error}"
    );
    let answer = batch(&server, Some(&admin), json!([])).await;
    assert_status_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    for (item, why) in [
        (
            json!({"method": "GET", "url": "/api/collections/notes/records"}),
            "a read",
        ),
        (
            json!({"method": "POST", "url": "/api/admin/users", "body": {}}),
            "outside records",
        ),
        (
            json!({"method": "POST", "url": "/api/collections", "body": {"name": "x"}}),
            "a collection",
        ),
        (
            json!({"method": "POST", "url": "/api/collections/notes/records?expand=x", "body": {}}),
            "a query",
        ),
        (
            json!({"method": "PATCH", "url": "/api/collections/notes/records", "body": {}}),
            "no id",
        ),
        (
            json!({"method": "POST", "url": "/api/collections/notes/records"}),
            "no body",
        ),
        (
            json!({"method": "DELETE", "url": "/api/collections/notes/records/a/b"}),
            "extra part",
        ),
    ] {
        let answer = batch(&server, Some(&admin), json!([create.clone(), item])).await;
        let error = assert_status_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["details"]["index"], 1, "{why}: {error}");
    }
    // Not the shape of a batch at all.
    for body in [
        json!({"requests": "x"}),
        json!({"ops": []}),
        json!([create]),
    ] {
        let (status, answer) = server.post("/api/batch", Some(&admin), body).await;
        assert!(status.is_client_error(), "{status}: {answer}");
    }
    assert!(titles(&server).await.is_empty());
}
