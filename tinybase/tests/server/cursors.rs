//! Cursor pagination over real HTTP and a real SQLite file: `next_cursor` and `?after=`
//! walk a list in its sort, with filters and searches, without repeats or gaps while
//! records are written, and bad cursors are 400s.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::HashSet;

use common::records::{item_ids, record_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn items(server: &TestServer, admin: &str) -> String {
    server
        .create_collection(
            admin,
            json!({"name": "items", "schema": {"fields": [
                {"name": "name", "type": "string", "searchable": true},
                {"name": "rating", "type": "int"},
                {"name": "score", "type": "float"},
            ]}, "options": {"list_rule": "public", "view_rule": "public", "create_rule": "auth",
                            "update_rule": "owner", "delete_rule": "owner"}}),
        )
        .await;
    server.register("writer@example.com", "password-1").await.0
}

/// Creates `count` records named `prefix-i`; ratings repeat and some are absent (null).
async fn seed(server: &TestServer, token: &str, prefix: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let mut data =
            json!({"name": format!("{prefix} number{i}"), "score": (i % 4) as f64 / 2.0});
        if i % 5 != 0 {
            data["rating"] = json!(i % 3);
        }
        let record = server.create_record("items", Some(token), data).await;
        ids.push(record["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Every page of a list, following `next_cursor` from the first page.
async fn walk(server: &TestServer, query: &[(&str, &str)]) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(cursor) = &after {
            q.push(("after", cursor));
        }
        let page = server.list_ok("items", None, &q).await;
        pages.push(item_ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => return pages,
        }
        assert!(pages.len() < 100, "cursor walk does not end");
    }
}

async fn all(server: &TestServer, query: &[(&str, &str)]) -> Vec<String> {
    let mut q = query.to_vec();
    q.push(("per_page", "500"));
    item_ids(&server.list_ok("items", None, &q).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_walk_every_sort_filter_and_search_in_order() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let token = items(&server, &admin).await;
    seed(&server, &token, "item", 23).await;

    for query in [
        vec![],
        vec![("sort", "-rating")],
        vec![("sort", "rating,-score")],
        vec![("sort", "-score,name")],
        vec![("sort", "-created_at")],
        vec![("filter", "rating != 1"), ("sort", "rating")],
        vec![("search", "item"), ("sort", "-rating")],
        vec![("sort", "-rating"), ("expand", "")],
    ] {
        let whole = all(&server, &query).await;
        let mut paged = query.clone();
        paged.push(("per_page", "4"));
        let pages = walk(&server, &paged).await;
        assert!(
            pages.iter().all(|page| !page.is_empty()),
            "{query:?}: {pages:?}"
        );
        assert!(pages[..pages.len() - 1].iter().all(|page| page.len() == 4));
        assert_eq!(pages.concat(), whole, "{query:?}");
    }
    // A page that ends the list exactly has no cursor: no empty page follows.
    let pages = walk(&server, &[("filter", "rating = 2"), ("per_page", "1")]).await;
    assert!(pages.iter().all(|page| page.len() == 1), "{pages:?}");

    // With a cursor the totals still count the whole list.
    let first = server.list_ok("items", None, &[("per_page", "5")]).await;
    let second = server
        .list_ok(
            "items",
            None,
            &[
                ("per_page", "5"),
                ("after", first["next_cursor"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(second["total_items"], 23);
    assert_eq!(second["page"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_neither_repeats_nor_skips_while_records_are_written() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let token = items(&server, &admin).await;
    let original = seed(&server, &token, "old", 20).await;

    for sort in ["-created_at", "rating", "-rating"] {
        let query = [("sort", sort), ("per_page", "6")];
        let first = server.list_ok("items", None, &query).await;
        let mut seen: Vec<String> = item_ids(&first);
        let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
        // Writes between pages: new records sort anywhere; one seen record is deleted,
        // one unseen record changes.
        let added = seed(&server, &token, "new", 4).await;
        let (status, _) = server
            .delete(&record_path("items", &seen[0]), Some(&token))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        loop {
            let mut q = query.to_vec();
            q.push(("after", &cursor));
            let page = server.list_ok("items", None, &q).await;
            seen.extend(item_ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a record came twice");
        // Every original record still there was seen exactly once.
        let now = all(&server, &[("sort", sort)]).await;
        for id in &original {
            if now.contains(id) {
                assert!(seen.contains(id), "{sort}: {id} was skipped");
            }
        }
        // New records are seen when they sort after the first page, never twice.
        for id in &added {
            assert!(seen.iter().filter(|s| *s == id).count() <= 1);
        }
        if sort == "-created_at" {
            // Newest first: everything added after the first page sorts before it.
            assert!(added.iter().all(|id| !seen.contains(id)), "{sort}");
        }
        // The rest of the walk is in the list's order.
        let order: Vec<&String> = now.iter().filter(|id| seen.contains(id)).collect();
        let walked: Vec<&String> = seen.iter().filter(|id| now.contains(id)).collect();
        assert_eq!(walked, order, "{sort}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_are_refused_with_400() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let token = items(&server, &admin).await;
    seed(&server, &token, "item", 5).await;
    let page = server
        .list_ok("items", None, &[("sort", "-rating"), ("per_page", "2")])
        .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();

    let other_sort = [("sort", "rating"), ("after", cursor.as_str())];
    let with_page = [
        ("sort", "-rating"),
        ("page", "2"),
        ("after", cursor.as_str()),
    ];
    let ranked = [
        ("search", "item"),
        ("sort", "@rank"),
        ("after", cursor.as_str()),
    ];
    let long = "A".repeat(10_000);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("after", "not a cursor")],
        vec![("after", "e30")],        // {}
        vec![("after", "WzFd")],       // [1]
        vec![("after", "eyJvIjoxfQ")], // {"o":1}
        vec![("after", "%%%")],
        vec![("after", long.as_str())],
        other_sort.to_vec(),
        with_page.to_vec(),
        ranked.to_vec(),
    ];
    for query in cases {
        let (status, body) = server.list_records("items", None, &query).await;
        assert_status_error(
            &(status, body.clone()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_eq!(
            body["error"]["details"]["parameter"], "after",
            "{query:?}: {body}"
        );
    }
    // A ranked list gives no cursor; a blank `after` is no cursor.
    let ranked = server
        .list_ok(
            "items",
            None,
            &[("search", "item"), ("sort", "@rank"), ("per_page", "2")],
        )
        .await;
    assert!(ranked["next_cursor"].is_null(), "{ranked}");
    let blank = server.list_ok("items", None, &[("after", " ")]).await;
    assert_eq!(item_ids(&blank).len(), 5);
    assert!(blank["next_cursor"].is_null());
    // A crafted cursor with hostile values is only ever a parameter.
    let crafted = tamper(&cursor, json!(["'; DROP TABLE records; --", "x"]));
    let (status, body) = server
        .list_records("items", None, &[("sort", "-rating"), ("after", &crafted)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.all_records_count().await, 5);
}

/// The cursor with its key values replaced.
fn tamper(cursor: &str, keys: Value) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut document: Value = serde_json::from_slice(&engine.decode(cursor).unwrap()).unwrap();
    document["k"] = keys;
    engine.encode(document.to_string())
}
