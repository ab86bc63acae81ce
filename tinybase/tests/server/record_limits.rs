//! Limits that keep one client from making the server hold or send huge amounts: the
//! per-collection record size, the byte budget of a list page, and the cap on costly
//! filter comparisons, and the cap of 500 on `per_page`. Over real HTTP against a real
//! server.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{
    assert_page, field_errors, item_ids, item_values, record_path, records_path,
};
use common::{TestServer, assert_status_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The byte budget of one list page (`constants::LIST_RESPONSE_MAX_BYTES`).
const PAGE_BUDGET: usize = 16 * 1024 * 1024;

async fn notes_collection(server: &TestServer, admin: &str, max_record_bytes: u64) {
    server
        .create_collection(
            admin,
            json!({
                "name": "notes",
                "schema": {"fields": [{"name": "body", "type": "text"}]},
                "options": {"list_rule": "public", "create_rule": "auth",
                            "update_rule": "auth", "max_record_bytes": max_record_bytes},
            }),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_its_collections_size_limit_is_413_and_nothing_changes() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes_collection(&server, &admin, 2048).await;
    let path = records_path("notes");

    // 3,000 characters of data do not fit 2,048 bytes.
    let response = server
        .post(&path, Some(&admin), json!({"body": "x".repeat(3000)}))
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_eq!(error["details"]["max_record_bytes"], 2048, "{error}");
    let list = server.list_ok("notes", None, &[]).await;
    assert_eq!(list["total_items"], 0, "nothing was stored");

    // Characters are counted as stored bytes: 1,000 two-byte letters are 2,000 bytes.
    let created = server
        .create_record("notes", Some(&admin), json!({"body": "é".repeat(1000)}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let response = server
        .post(&path, Some(&admin), json!({"body": "é".repeat(1100)}))
        .await;
    assert_status_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // An update that would make the record too large changes nothing.
    let response = server
        .patch(
            &record_path("notes", &id),
            Some(&admin),
            json!({"body": "y".repeat(2100)}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let (status, read) = server.get(&record_path("notes", &id), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["data"]["body"], "é".repeat(1000));

    // A body far over the limit is refused before it is parsed: even one that is not
    // JSON at all answers 413, not 400.
    let response = server
        .request(Method::POST, &path, Some(&admin))
        .header("content-type", "application/json")
        .body(vec![b'['; 20_000])
        .send()
        .await
        .unwrap();
    let response = common::read(response).await;
    assert_status_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // Under the early check, broken JSON is still the usual 400.
    let response = server
        .request(Method::POST, &path, Some(&admin))
        .header("content-type", "application/json")
        .body("{\"body\": ")
        .send()
        .await
        .unwrap();
    assert_status_error(
        &common::read(response).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let list = server.list_ok("notes", None, &[]).await;
    assert_eq!(list["total_items"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_limit_out_of_range_is_422_and_the_collection_is_not_saved() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for bad in [0_u64, 1023, 64 * 1024 * 1024 + 1] {
        let response = server
            .post(
                "/api/collections",
                Some(&admin),
                json!({"name": "notes", "options": {"max_record_bytes": bad}}),
            )
            .await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            field_errors(&response.1).contains_key("options.max_record_bytes"),
            "{}",
            response.1
        );
    }
    let (status, _) = server.get("/api/collections/notes", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same check applies to a change, which then changes nothing.
    notes_collection(&server, &admin, 4096).await;
    let response = server
        .patch(
            "/api/collections/notes",
            Some(&admin),
            json!({"options": {"max_record_bytes": 10}}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (_, read) = server.get("/api/collections/notes", Some(&admin)).await;
    assert_eq!(read["options"]["max_record_bytes"], 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_page_stops_at_its_byte_budget_and_says_so() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes_collection(&server, &admin, 1024 * 1024).await;
    // 40 records of ~600 KB: 24 MB in all, more than one page may hold.
    let body = "n".repeat(600_000);
    let mut ids = Vec::new();
    for _ in 0..40 {
        let created = server
            .create_record("notes", Some(&admin), json!({"body": body}))
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    let response = server
        .request(
            Method::GET,
            &format!("{}?per_page=500", records_path("notes")),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The page is sent in pieces, but with its length announced, not chunked.
    let announced: usize = response.headers()[reqwest::header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    assert_eq!(announced, bytes.len());
    assert!(bytes.len() <= PAGE_BUDGET, "{} bytes", bytes.len());
    let page: Value = serde_json::from_slice(&bytes).unwrap();
    let served = item_ids(&page);
    assert!(
        (20..40).contains(&served.len()),
        "{} records served",
        served.len()
    );
    assert_eq!(served, ids[..served.len()], "the first records, in order");
    assert_eq!(page["truncated"], true);
    assert_eq!(page["total_items"], 40);
    assert_eq!(page["per_page"], 500);

    // `fields` trims each record before it counts against the budget: every id fits.
    let trimmed = server
        .list_ok("notes", None, &[("per_page", "500"), ("fields", "id")])
        .await;
    assert_eq!(item_ids(&trimmed), ids);
    assert!(trimmed.get("truncated").is_none());
    assert_eq!(
        trimmed["items"][0].as_object().unwrap().len(),
        1,
        "{}",
        trimmed["items"][0]
    );

    // A page within the budget is whole and does not carry the flag.
    let page = server.list_ok("notes", None, &[("per_page", "10")]).await;
    assert_eq!(item_ids(&page), ids[..10]);
    assert!(page.get("truncated").is_none(), "{}", page["per_page"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_and_fetched_records_read_exactly_like_the_record_a_create_returned() {
    // Lists and single reads print records from their stored text; a create answers
    // with the record printed by serde. All three must give the same JSON.
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "things", "schema": {"fields": [
                {"name": "title", "type": "string"},
                {"name": "meta", "type": "json"},
                {"name": "tags", "type": "list[string]"},
                {"name": "score", "type": "float"},
            ]}}),
        )
        .await;
    let mut created = Vec::new();
    for data in [
        json!({"title": "plain"}),
        json!({"title": "ünïcødé \"quoted\" \\ back\nline", "score": 1.5}),
        json!({"meta": {"nested": [1, {"deep": null}], "e": 1e300}, "tags": ["a", "b"]}),
        json!({}),
    ] {
        created.push(server.create_record("things", Some(&admin), data).await);
    }
    // One without an owner, too.
    let anonymous = server
        .app
        .collections()
        .create_record(
            &tinybase::collections::Caller::system(),
            "things",
            serde_json::Map::new(),
        )
        .await
        .unwrap();
    created.push(serde_json::to_value(anonymous).unwrap());
    let list = server.list_ok("things", None, &[]).await;
    assert_eq!(list["items"].as_array().unwrap(), &created);
    for record in &created {
        let id = record["id"].as_str().unwrap();
        let (status, read) = server.get(&record_path("things", id), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&read, record);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_with_too_many_contains_comparisons_is_400() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes_collection(&server, &admin, 4096).await;
    server
        .create_record("notes", Some(&admin), json!({"body": "rust and sqlite"}))
        .await;
    let terms = |n: usize| vec!["body ~ 'rust'"; n].join(" && ");
    let page = server
        .list_ok("notes", None, &[("filter", terms(10).as_str())])
        .await;
    assert_eq!(page["total_items"], 1, "ten are allowed");
    let (status, body) = server
        .list_records("notes", None, &[("filter", terms(11).as_str())])
        .await;
    assert_status_error(
        &(status, body.clone()),
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 10"),
        "{body}"
    );
    // `!~` counts too.
    let mixed = format!("{} || body !~ 'x'", terms(10));
    let (status, _) = server
        .list_records("notes", None, &[("filter", mixed.as_str())])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_page_above_500_gives_500_of_more_records() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "many", "schema": {"fields": [{"name": "n", "type": "int"}]}}),
        )
        .await;
    // 520 records, created over HTTP by four clients at once.
    const TOTAL: i64 = 520;
    let mut tasks = Vec::new();
    for client in 0..4 {
        let (http, url, token) = (
            server.client.clone(),
            server.url(&records_path("many")),
            admin.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in (client..TOTAL).step_by(4) {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "n": n }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    for asked in ["501", "1000", "4294967295"] {
        let page = server
            .list_ok("many", None, &[("per_page", asked), ("sort", "n")])
            .await;
        assert_page(&page, 1, 500, 520, 2);
        let values = item_values(&page, "n");
        assert_eq!(values, (0..500).map(|n| json!(n)).collect::<Vec<_>>());
    }
    // The second page holds the rest.
    let page = server
        .list_ok(
            "many",
            None,
            &[("per_page", "1000"), ("sort", "n"), ("page", "2")],
        )
        .await;
    assert_page(&page, 2, 500, 520, 2);
    assert_eq!(
        item_values(&page, "n"),
        (500..520).map(|n| json!(n)).collect::<Vec<_>>()
    );
    // Exactly 500 is allowed as it is.
    let page = server.list_ok("many", None, &[("per_page", "500")]).await;
    assert_page(&page, 1, 500, 520, 2);
    assert_eq!(item_ids(&page).len(), 500);
}
