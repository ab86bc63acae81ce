//! Full-text search over real HTTP and a real SQLite file: `searchable` fields, `?search=`
//! with filters, rules and counts, `sort=@rank`, an index that follows every write path,
//! schema changes that rebuild it, and hostile search text.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{item_ids, record_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::collections::{Caller, RecordQuery};

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

/// `articles`: searchable `title` and `body`, a plain `rating`; anyone lists.
async fn articles(server: &TestServer, admin: &str) {
    server
        .create_collection(
            admin,
            json!({"name": "articles", "schema": {"fields": [
                {"name": "title", "type": "string", "searchable": true},
                {"name": "body", "type": "text", "searchable": true},
                {"name": "tag", "type": "string"},
                {"name": "rating", "type": "int"},
            ]}, "options": {"list_rule": "public", "view_rule": "public",
                            "create_rule": "auth", "update_rule": "owner", "delete_rule": "owner"}}),
        )
        .await;
}

/// The ids a search finds, in the order of the answer, checking the count agrees.
async fn found(
    server: &TestServer,
    token: Option<&str>,
    words: &str,
    extra: &[(&str, &str)],
) -> Vec<String> {
    found_in(server, "articles", token, words, extra).await
}

async fn found_in(
    server: &TestServer,
    collection: &str,
    token: Option<&str>,
    words: &str,
    extra: &[(&str, &str)],
) -> Vec<String> {
    let mut query = vec![("search", words), ("per_page", "500")];
    query.extend_from_slice(extra);
    let page = server.list_ok(collection, token, &query).await;
    let ids = item_ids(&page);
    assert_eq!(
        page["total_items"].as_u64(),
        Some(ids.len() as u64),
        "count of {words:?}: {page}"
    );
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// How many rows the search index holds, straight from the database.
async fn indexed_rows(server: &TestServer) -> (i64, i64) {
    server
        .app
        .database()
        .read(|conn| {
            let rows: i64 = conn.query_row("SELECT COUNT(*) FROM search_rows", [], |r| r.get(0))?;
            let index: i64 =
                conn.query_row("SELECT COUNT(*) FROM search_index", [], |r| r.get(0))?;
            Ok((rows, index))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_records_by_their_words_and_ranks_them() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    articles(&server, &admin).await;
    let (user, _) = server.register("writer@example.com", "password-1").await;
    let once = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "Cooking pasta", "body": "A note on Rust pans and a long story about sauces, herbs, water and salt", "rating": 5}),
        )
        .await;
    let often = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "Rust for beginners", "body": "Rust, rust everywhere: rust", "rating": 3}),
        )
        .await;
    let accents = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "Café Crème", "body": "Über naïve coöperation", "rating": 4}),
        )
        .await;
    // A word only in a field that is not searchable is not found.
    let untagged = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "Gardening", "tag": "rust", "rating": 1}),
        )
        .await;

    assert_eq!(
        sorted(found(&server, None, "rust", &[]).await),
        sorted(vec![id(&once), id(&often)])
    );
    // Case, accents, several words (all must occur, any field), prefixes.
    assert_eq!(
        found(&server, None, "RUST beginners", &[]).await,
        [id(&often)]
    );
    assert_eq!(
        found(&server, None, "cafe creme", &[]).await,
        [id(&accents)]
    );
    assert_eq!(
        found(&server, None, "uber naive", &[]).await,
        [id(&accents)]
    );
    assert_eq!(found(&server, None, "cooking rust", &[]).await, [id(&once)]);
    assert_eq!(found(&server, None, "begin*", &[]).await, [id(&often)]);
    assert!(found(&server, None, "rust gardening", &[]).await.is_empty());
    assert!(found(&server, None, "nowhere", &[]).await.is_empty());
    assert_eq!(
        found(&server, None, "gardening", &[]).await,
        [id(&untagged)]
    );

    // @rank: the record that says "rust" most, in its short text, comes first.
    assert_eq!(
        found(&server, None, "rust", &[("sort", "@rank")]).await,
        [id(&often), id(&once)]
    );
    assert_eq!(
        found(&server, None, "rust", &[("sort", "-@rank")]).await,
        [id(&once), id(&often)]
    );
    // Other sorts and filters combine with a search, and pages count the matches only.
    assert_eq!(
        found(&server, None, "rust", &[("sort", "-rating")]).await,
        [id(&once), id(&often)]
    );
    assert_eq!(
        found(
            &server,
            None,
            "rust",
            &[("filter", "rating < 4"), ("sort", "@rank")]
        )
        .await,
        [id(&often)]
    );
    let page = server
        .list_ok(
            "articles",
            None,
            &[
                ("search", "rust"),
                ("sort", "@rank"),
                ("per_page", "1"),
                ("page", "2"),
            ],
        )
        .await;
    assert_eq!(item_ids(&page), [id(&once)]);
    assert_eq!(
        (page["total_items"].as_u64(), page["total_pages"].as_u64()),
        (Some(2), Some(2))
    );
    let page = server
        .list_ok(
            "articles",
            None,
            &[("search", "rust"), ("skip_total", "true")],
        )
        .await;
    assert_eq!(item_ids(&page).len(), 2);
    assert!(page["total_items"].is_null(), "{page}");
    // A blank search is no search.
    let page = server.list_ok("articles", None, &[("search", "  ")]).await;
    assert_eq!(page["total_items"], 4);

    // @rank needs a search; a collection without searchable fields cannot be searched.
    let (status, body) = server
        .list_records("articles", None, &[("sort", "@rank")])
        .await;
    assert_status_error(
        &(status, body.clone()),
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("@rank"),
        "{body}"
    );
    server
        .create_collection(
            &admin,
            json!({"name": "plain", "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .await;
    let (status, body) = server.list_records("plain", None, &[("search", "x")]).await;
    assert_status_error(
        &(status, body.clone()),
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_eq!(body["error"]["details"]["parameter"], "search", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no searchable fields"),
        "{body}"
    );

    // The typed service (behind `ctx.records()`) searches the same way.
    let page = server
        .app
        .collections()
        .list_records(
            &Caller::system(),
            "articles",
            RecordQuery {
                search: Some("rust".to_owned()),
                sort: Some("@rank".to_owned()),
                ..RecordQuery::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, [id(&often), id(&once)]);
    assert_eq!(page.total_items, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_never_shows_or_counts_what_the_list_rule_hides() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "notes", "schema": {"fields": [
                {"name": "text", "type": "text", "searchable": true},
                {"name": "published", "type": "boolean"},
            ]}, "options": {"list_rule": "published = true || owner_id = @request.auth.id",
                            "view_rule": "public", "create_rule": "auth",
                            "update_rule": "owner", "delete_rule": "owner"}}),
        )
        .await;
    let (alice, _) = server.register("alice@example.com", "password-1").await;
    let (bob, _) = server.register("bob@example.com", "password-1").await;
    let public = server
        .create_record(
            "notes",
            Some(&alice),
            json!({"text": "secret plans, published", "published": true}),
        )
        .await;
    let alices = server
        .create_record(
            "notes",
            Some(&alice),
            json!({"text": "secret plans of alice", "published": false}),
        )
        .await;
    let bobs = server
        .create_record(
            "notes",
            Some(&bob),
            json!({"text": "secret plans of bob", "published": false}),
        )
        .await;

    let search = |token: Option<String>| {
        let server = &server;
        async move {
            sorted(
                found_in(
                    server,
                    "notes",
                    token.as_deref(),
                    "secret plans",
                    &[("sort", "@rank")],
                )
                .await,
            )
        }
    };
    assert_eq!(search(None).await, [id(&public)]);
    assert_eq!(
        search(Some(alice.clone())).await,
        sorted(vec![id(&public), id(&alices)])
    );
    assert_eq!(
        search(Some(bob.clone())).await,
        sorted(vec![id(&public), id(&bobs)])
    );
    // Asked in turn, each caller's count is their own (the count cache is per query).
    for _ in 0..2 {
        assert_eq!(search(Some(alice.clone())).await.len(), 2);
        assert_eq!(search(None).await.len(), 1);
    }
    // Words only in a hidden record find nothing, and say so in the count.
    assert!(
        found_in(&server, "notes", Some(&bob), "alice", &[])
            .await
            .is_empty()
    );
    assert_eq!(
        found_in(&server, "notes", Some(&alice), "alice", &[]).await,
        [id(&alices)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_follows_every_write_path() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    articles(&server, &admin).await;
    // posts ← comments.post (cascade); comments are searchable.
    server
        .create_collection(
            &admin,
            json!({"name": "posts", "schema": {"fields": [{"name": "title", "type": "string", "searchable": true}]}}),
        )
        .await;
    server
        .create_collection(
            &admin,
            json!({"name": "comments", "schema": {"fields": [
                {"name": "text", "type": "text", "searchable": true},
                {"name": "post", "type": "relation", "collection": "posts", "on_delete": "cascade"},
            ]}}),
        )
        .await;
    let (user, _) = server.register("writer@example.com", "password-1").await;

    // HTTP update: the old words go, the new ones come; a field removed is forgotten.
    let record = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "alpha", "body": "bravo"}),
        )
        .await;
    let (status, _) = server
        .patch(
            &record_path("articles", &id(&record)),
            Some(&user),
            json!({"title": "charlie"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(found(&server, None, "alpha", &[]).await.is_empty());
    assert_eq!(
        found(&server, None, "charlie bravo", &[]).await,
        [id(&record)]
    );
    let (status, _) = server
        .patch(
            &record_path("articles", &id(&record)),
            Some(&user),
            json!({"body": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(found(&server, None, "bravo", &[]).await.is_empty());

    // HTTP delete.
    let (status, _) = server
        .delete(&record_path("articles", &id(&record)), Some(&user))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(found(&server, None, "charlie", &[]).await.is_empty());

    // Batch: create, update and delete in one transaction.
    let kept = server
        .create_record("articles", Some(&user), json!({"title": "delta"}))
        .await;
    let dropped = server
        .create_record("articles", Some(&user), json!({"title": "echo"}))
        .await;
    let (status, body) = server
        .post(
            "/api/batch",
            Some(&user),
            json!({"requests": [
                {"method": "POST", "url": "/api/collections/articles/records", "body": {"title": "foxtrot"}},
                {"method": "PATCH", "url": format!("/api/collections/articles/records/{}", id(&kept)), "body": {"title": "golf"}},
                {"method": "DELETE", "url": format!("/api/collections/articles/records/{}", id(&dropped))},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = body["responses"][0]["body"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(found(&server, None, "foxtrot", &[]).await, [created]);
    assert_eq!(found(&server, None, "golf", &[]).await, [id(&kept)]);
    assert!(found(&server, None, "delta", &[]).await.is_empty());
    assert!(found(&server, None, "echo", &[]).await.is_empty());
    // A batch that fails leaves the index as it was.
    let (status, _) = server
        .post(
            "/api/batch",
            Some(&user),
            json!({"requests": [
                {"method": "POST", "url": "/api/collections/articles/records", "body": {"title": "hotel"}},
                {"method": "PATCH", "url": format!("/api/collections/articles/records/{}", id(&kept)), "body": {"rating": "x"}},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(found(&server, None, "hotel", &[]).await.is_empty());

    // The service behind `ctx.records()`.
    let service = server.app.collections();
    let system = Caller::system();
    let made = service
        .create_record(
            &system,
            "articles",
            json!({"title": "india"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        found(&server, None, "india", &[]).await,
        vec![made.id.clone()]
    );
    service
        .update_record(
            &system,
            "articles",
            &made.id,
            json!({"title": "juliett"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        found(&server, None, "juliett", &[]).await,
        vec![made.id.clone()]
    );
    assert!(found(&server, None, "india", &[]).await.is_empty());
    service
        .delete_record(&system, "articles", &made.id)
        .await
        .unwrap();
    assert!(found(&server, None, "juliett", &[]).await.is_empty());

    // A cascaded delete takes the comments out of the index too.
    let post = server
        .create_record("posts", Some(&user), json!({"title": "kilo"}))
        .await;
    for text in ["lima one", "lima two"] {
        server
            .create_record(
                "comments",
                Some(&user),
                json!({"text": text, "post": id(&post)}),
            )
            .await;
    }
    assert_eq!(
        found_in(&server, "comments", None, "lima", &[]).await.len(),
        2
    );
    let (status, _) = server
        .delete(&record_path("posts", &id(&post)), Some(&user))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        found_in(&server, "comments", None, "lima", &[])
            .await
            .is_empty()
    );

    // Deleting a collection empties its part of the index; a new one of the same name
    // starts clean.
    let (status, _) = server
        .delete("/api/collections/comments", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .delete("/api/collections/articles", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        indexed_rows(&server).await,
        (0, 0),
        "only posts is left, and empty"
    );
    articles(&server, &admin).await;
    assert!(found(&server, None, "golf", &[]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_changes_that_toggle_searchable_rebuild_the_index() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let fields = |title: bool, body: bool| {
        json!({"schema": {"fields": [
            {"name": "title", "type": "string", "searchable": title},
            {"name": "body", "type": "text", "searchable": body},
        ]}})
    };
    let mut create = fields(false, false);
    create["name"] = json!("docs");
    create["options"] = json!({"list_rule": "public", "create_rule": "auth"});
    server.create_collection(&admin, create).await;
    let (user, _) = server.register("writer@example.com", "password-1").await;
    let one = server
        .create_record(
            "docs",
            Some(&user),
            json!({"title": "mike", "body": "november"}),
        )
        .await;
    let two = server
        .create_record(
            "docs",
            Some(&user),
            json!({"title": "oscar", "body": "mike"}),
        )
        .await;
    let (status, _) = server
        .list_records("docs", None, &[("search", "mike")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Records written before the field became searchable are found at once.
    server
        .patch_collection(&admin, "docs", fields(true, false))
        .await;
    assert_eq!(
        found_in(&server, "docs", None, "mike", &[]).await,
        [id(&one)]
    );
    assert!(
        found_in(&server, "docs", None, "november", &[])
            .await
            .is_empty()
    );
    server
        .patch_collection(&admin, "docs", fields(true, true))
        .await;
    assert_eq!(
        sorted(found_in(&server, "docs", None, "mike", &[]).await),
        sorted(vec![id(&one), id(&two)])
    );
    assert_eq!(
        found_in(&server, "docs", None, "november", &[]).await,
        [id(&one)]
    );
    // Records written now are indexed with both fields.
    let three = server
        .create_record(
            "docs",
            Some(&user),
            json!({"title": "papa", "body": "quebec"}),
        )
        .await;
    assert_eq!(
        found_in(&server, "docs", None, "papa quebec", &[]).await,
        [id(&three)]
    );
    // A rename keeps the field searchable under its new name.
    server
        .patch_collection(
            &admin,
            "docs",
            json!({"schema": {"fields": [
                {"name": "title", "type": "string", "searchable": true},
                {"name": "text", "type": "text", "searchable": true},
            ]}}),
        )
        .await;
    // Stored records keep their `body` key, which is no longer a field: not searched.
    assert!(
        found_in(&server, "docs", None, "november", &[])
            .await
            .is_empty()
    );
    assert_eq!(
        found_in(&server, "docs", None, "papa", &[]).await,
        [id(&three)]
    );
    // Back to none: the collection cannot be searched and its index rows are gone.
    server
        .patch_collection(&admin, "docs", fields(false, false))
        .await;
    let (status, _) = server
        .list_records("docs", None, &[("search", "mike")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(indexed_rows(&server).await, (0, 0));

    // Only string and text fields may be searchable: 422 naming the field.
    for (field_type, extra) in [
        ("int", json!({})),
        ("json", json!({})),
        ("select", json!({"values": ["a"]})),
    ] {
        let mut field = json!({"name": "bad", "type": field_type, "searchable": true});
        field
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, body) = server
            .patch(
                "/api/collections/docs",
                Some(&admin),
                json!({"schema": {"fields": [{"name": "title", "type": "string"}, field]}}),
            )
            .await;
        assert_status_error(
            &(status, body.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            body["error"]["details"]["fields"]["schema.fields[1].searchable"].is_string(),
            "{field_type}: {body}"
        );
    }
    let (status, _) = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "nope", "schema": {"fields": [{"name": "n", "type": "float", "searchable": true}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_search_text_is_answered_or_refused_never_a_server_error() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    articles(&server, &admin).await;
    let (user, _) = server.register("writer@example.com", "password-1").await;
    let near = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "near the sea", "body": "rust (fast)"}),
        )
        .await;
    let quoted = server
        .create_record(
            "articles",
            Some(&user),
            json!({"title": "say \"hello\"", "body": "it's ok"}),
        )
        .await;
    let before = server.all_records_count().await;

    // Words that are FTS5 syntax are looked for as words.
    assert_eq!(found(&server, None, "NEAR", &[]).await, [id(&near)]);
    assert_eq!(
        found(&server, None, "NEAR(rust fast)", &[]).await,
        [id(&near)]
    );
    assert_eq!(found(&server, None, "\"hello\"", &[]).await, [id(&quoted)]);
    assert_eq!(found(&server, None, "\"hello", &[]).await, [id(&quoted)]);
    assert_eq!(found(&server, None, "it's", &[]).await, [id(&quoted)]);
    assert_eq!(found(&server, None, "(fast", &[]).await, [id(&near)]);
    assert!(found(&server, None, "rust OR hello", &[]).await.is_empty());
    assert!(found(&server, None, "NOT hello", &[]).await.is_empty());
    assert!(found(&server, None, "title:near", &[]).await.is_empty());
    assert!(
        found(&server, None, "'; DROP TABLE records; --", &[])
            .await
            .is_empty()
    );

    let long_words = "word ".repeat(200);
    let answered = [
        "*",
        "**",
        "\"",
        "\"\"",
        "(((",
        ")",
        "^",
        "-",
        "+",
        "NEAR(",
        "a:",
        "{title}:x",
        "x*y*",
        "\u{1F980} crab",
        "%",
        "\\",
        "a\u{0}b",
        "\u{200B}",
        &long_words,
    ];
    for text in answered {
        let (status, body) = server
            .list_records("articles", None, &[("search", text)])
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{text:?}: {status} {body}"
        );
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(
                body["error"]["details"]["parameter"], "search",
                "{text:?}: {body}"
            );
        }
    }
    // Refused: no word at all, too long, too many words.
    for text in ["*", "( ) \" ^", &"x".repeat(1001), &"a ".repeat(33)] {
        let (status, body) = server
            .list_records("articles", None, &[("search", text)])
            .await;
        assert_status_error(
            &(status, body.clone()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_eq!(body["error"]["details"]["parameter"], "search", "{body}");
    }
    assert_eq!(server.all_records_count().await, before);
    assert_eq!(indexed_rows(&server).await, (2, 2));
}
