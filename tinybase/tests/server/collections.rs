//! The collections API over real HTTP: creating, listing, changing and deleting
//! collections; schema checks; rules on who may see and change them; schema changes that
//! take effect at once (validation, indexes and the OpenAPI document).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{
    assert_page, field_error_keys, field_errors, index_prefix, item_ids, item_values, record_path,
    records_path,
};
use common::{TestServer, assert_status_error, timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::collections::RecordQuery;

fn posts_schema() -> Value {
    json!({"fields": [
        {"name": "title", "type": "string", "required": true, "max_length": 100},
        {"name": "rating", "type": "int", "min": 0, "max": 5},
    ]})
}

/// Names of the collections a list response holds, in order.
fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn collection_count(server: &TestServer, token: &str) -> u64 {
    let (status, list) = server
        .get("/api/collections?per_page=500", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["total_items"].as_u64().expect("total_items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_returns_the_collection_and_get_reads_it_back() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let options = json!({
        "list_rule": "auth", "view_rule": "owner", "create_rule": "admin",
        "update_rule": "public", "delete_rule": "admin",
    });
    let (status, created) = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "posts", "label": "Blog posts", "schema": posts_schema(), "options": options}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut keys: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "code_defined",
            "created_at",
            "id",
            "label",
            "name",
            "options",
            "schema",
            "updated_at"
        ],
        "{created}"
    );
    assert!(uuid::Uuid::parse_str(created["id"].as_str().expect("id")).is_ok());
    assert_eq!(created["name"], "posts");
    assert_eq!(created["label"], "Blog posts");
    assert_eq!(created["schema"], posts_schema());
    let mut stored_options = options.clone();
    stored_options["max_record_bytes"] = json!(1_048_576);
    assert_eq!(
        created["options"], stored_options,
        "the size limit defaults to 1 MiB"
    );
    assert_eq!(
        timestamp(&created["created_at"]),
        timestamp(&created["updated_at"])
    );

    let (status, read) = server.get("/api/collections/posts", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, created);

    // Without options and label: the documented defaults.
    let created = server
        .create_collection(&admin, json!({"name": "notes"}))
        .await;
    assert!(created["label"].is_null(), "{created}");
    assert_eq!(created["schema"], json!({"fields": []}));
    assert_eq!(
        created["options"],
        json!({"list_rule": "public", "view_rule": "public", "create_rule": "auth",
               "update_rule": "owner", "delete_rule": "owner",
               "max_record_bytes": 1_048_576})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_collection_names_are_422_naming_the_field() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let long = "a".repeat(64);
    for bad in [
        "Posts",
        "2posts",
        "blog-posts",
        long.as_str(),
        "",
        "_posts",
        "pö",
    ] {
        let response = server
            .post("/api/collections", Some(&admin), json!({"name": bad}))
            .await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(field_error_keys(&response.1), ["name"], "{bad:?}");
    }
    assert_eq!(collection_count(&server, &admin).await, 0);
    // The longest allowed name is fine.
    let ok = "a".repeat(63);
    let created = server.create_collection(&admin, json!({"name": ok})).await;
    assert_eq!(created["name"], ok);
    // A missing name is a shape error naming it.
    let response = server
        .post("/api/collections", Some(&admin), json!({"label": "x"}))
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        field_errors(&response.1).contains_key("name"),
        "{}",
        response.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_name_is_409() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let first = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;
    let response = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "posts", "label": "again"}),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["name"]);
    // The first one is untouched.
    let (_, read) = server.get("/api/collections/posts", Some(&admin)).await;
    assert_eq!(read, first);
    assert_eq!(collection_count(&server, &admin).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_problem_is_listed_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let response = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "bad", "schema": {"fields": [
                {"name": "id", "type": "string"},
                {"name": "title", "type": "string"},
                {"name": "title", "type": "text"},
                {"name": "code", "type": "string", "pattern": "([a-z"},
                {"name": "short", "type": "string", "max_length": 3, "default": "too long"},
                {"name": "author", "type": "relation", "collection": "nowhere"},
                {"name": "ok", "type": "int"},
            ]}}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_error_keys(&response.1),
        [
            "schema.fields[0].name",
            "schema.fields[2].name",
            "schema.fields[3].pattern",
            "schema.fields[4].default",
            "schema.fields[5].collection",
        ],
        "{}",
        response.1
    );
    assert_eq!(collection_count(&server, &admin).await, 0);
    assert_eq!(
        server.get("/api/collections/bad", Some(&admin)).await.0,
        StatusCode::NOT_FOUND
    );

    // Every reserved name is refused.
    for reserved in ["id", "collection", "owner_id", "created_at", "updated_at"] {
        let response = server
            .post(
                "/api/collections",
                Some(&admin),
                json!({"name": "bad", "schema": {"fields": [{"name": reserved, "type": "string"}]}}),
            )
            .await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            field_error_keys(&response.1),
            ["schema.fields[0].name"],
            "{reserved}"
        );
    }

    // An unknown type or attribute is a shape error (serde), still 422 naming the place.
    for (field, key) in [
        (
            json!({"name": "x", "type": "money"}),
            "schema.fields[0].type",
        ),
        (
            json!({"name": "x", "type": "string", "colour": "red"}),
            "schema.fields[0].colour",
        ),
        (json!({"name": "x"}), "schema.fields[0].type"),
        (
            json!({"name": "x", "type": "int", "min": "low"}),
            "schema.fields[0].min",
        ),
    ] {
        let response = server
            .post(
                "/api/collections",
                Some(&admin),
                json!({"name": "bad", "schema": {"fields": [field]}}),
            )
            .await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(field_error_keys(&response.1), [key], "{}", response.1);
    }
    // So is a schema or options object of the wrong shape.
    for (body, key) in [
        (
            json!({"name": "bad", "schema": {"fields": {}}}),
            "schema.fields",
        ),
        (
            json!({"name": "bad", "options": {"list_rule": "everyone"}}),
            "options.list_rule",
        ),
        (
            json!({"name": "bad", "options": {"lst_rule": "auth"}}),
            "options.lst_rule",
        ),
    ] {
        let response = server.post("/api/collections", Some(&admin), body).await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(field_error_keys(&response.1), [key], "{}", response.1);
    }
    assert_eq!(collection_count(&server, &admin).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_may_create_change_or_delete_collections() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let original = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;

    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (Some(user.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        let response = server
            .post("/api/collections", token, json!({"name": "mine"}))
            .await;
        assert_status_error(&response, status, code);
        let response = server
            .patch(
                "/api/collections/posts",
                token,
                json!({"label": "hijacked", "options": {"list_rule": "admin"}}),
            )
            .await;
        assert_status_error(&response, status, code);
        let response = server.delete("/api/collections/posts", token).await;
        assert_status_error(&response, status, code);
    }
    let (status, read) = server.get("/api/collections/posts", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, original);
    assert_eq!(collection_count(&server, &admin).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_shows_the_collections_the_caller_may_list() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    for rule in ["public", "auth", "owner", "admin"] {
        server
            .create_collection(
                &admin,
                json!({"name": format!("{rule}_things"), "options": {"list_rule": rule}}),
            )
            .await;
    }

    let (status, list) = server.get("/api/collections", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(names(&list), ["public_things"]);
    assert_page(&list, 1, 20, 1, 1);

    let (_, list) = server.get("/api/collections", Some(&user)).await;
    assert_eq!(
        names(&list),
        ["auth_things", "owner_things", "public_things"]
    );
    assert_page(&list, 1, 20, 3, 1);

    let (_, list) = server.get("/api/collections", Some(&admin)).await;
    assert_eq!(
        names(&list),
        [
            "admin_things",
            "auth_things",
            "owner_things",
            "public_things"
        ]
    );
    assert_page(&list, 1, 20, 4, 1);

    // Paged like every list.
    let (_, list) = server
        .get("/api/collections?per_page=3&page=2", Some(&admin))
        .await;
    assert_eq!(names(&list), ["public_things"]);
    assert_page(&list, 2, 3, 4, 2);

    // One collection follows the same rule.
    let response = server.get("/api/collections/auth_things", None).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    let response = server
        .get("/api/collections/admin_things", Some(&user))
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    let (status, read) = server
        .get("/api/collections/auth_things", Some(&user))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["name"], "auth_things");
    let response = server
        .get("/api/collections/nothing_here", Some(&admin))
        .await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_change_applies_to_the_next_request() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let created = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;
    let old = server
        .create_record("posts", Some(&admin), json!({"title": "Before"}))
        .await;

    // Add a required field.
    let mut fields = posts_schema()["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "summary", "type": "text", "required": true}));
    let changed = server
        .patch_collection(
            &admin,
            "posts",
            json!({"schema": {"fields": fields}, "label": "Posts"}),
        )
        .await;
    assert_eq!(changed["id"], created["id"]);
    assert_eq!(changed["label"], "Posts");
    assert_eq!(changed["schema"]["fields"][2]["name"], "summary");
    assert_eq!(changed["options"], created["options"], "options kept");
    assert_eq!(changed["created_at"], created["created_at"]);
    assert!(timestamp(&changed["updated_at"]) >= timestamp(&created["updated_at"]));

    let response = server
        .post(
            &records_path("posts"),
            Some(&admin),
            json!({"title": "After"}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&response.1), ["summary"]);
    let record = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "After", "summary": "now required"}),
        )
        .await;
    assert_eq!(record["data"]["summary"], "now required");

    // Stored records are still readable and listed, unchanged.
    let id = old["id"].as_str().unwrap();
    let (status, read) = server.get(&record_path("posts", id), None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, old);
    let list = server.list_ok("posts", None, &[]).await;
    assert_eq!(list["total_items"], 2);

    // Removing the field again applies at once too: now it is unknown.
    server
        .patch_collection(&admin, "posts", json!({"schema": posts_schema()}))
        .await;
    let response = server
        .post(
            &records_path("posts"),
            Some(&admin),
            json!({"title": "x", "summary": "gone"}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&response.1), ["summary"]);

    // Options change at once as well.
    server
        .patch_collection(&admin, "posts", json!({"options": {"list_rule": "admin"}}))
        .await;
    let response = server.list_records("posts", None, &[]).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_schema_change_is_422_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let created = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;
    let response = server
        .patch(
            "/api/collections/posts",
            Some(&admin),
            json!({"label": "New", "schema": {"fields": [
                {"name": "title", "type": "string"},
                {"name": "Title", "type": "string"},
                {"name": "n", "type": "int", "min": 5, "max": 1},
            ]}}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_error_keys(&response.1),
        ["schema.fields[1].name", "schema.fields[2].min"]
    );
    let (_, read) = server.get("/api/collections/posts", Some(&admin)).await;
    assert_eq!(read, created, "nothing changed, not even the label");
    // Validation still follows the old schema.
    let response = server
        .post(&records_path("posts"), Some(&admin), json!({"rating": 9}))
        .await;
    assert_eq!(field_error_keys(&response.1), ["rating", "title"]);

    let response = server
        .patch(
            "/api/collections/nothing",
            Some(&admin),
            json!({"label": "x"}),
        )
        .await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server
        .patch(
            "/api/collections/posts",
            Some(&admin),
            json!({"name": "renamed"}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&response.1), ["name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_collection_deletes_its_records() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let posts = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;
    let other = server
        .create_collection(&admin, json!({"name": "other", "schema": posts_schema()}))
        .await;
    let record = server
        .create_record("posts", Some(&admin), json!({"title": "Doomed"}))
        .await;
    server
        .create_record("posts", Some(&admin), json!({"title": "Doomed too"}))
        .await;
    let kept = server
        .create_record("other", Some(&admin), json!({"title": "Kept"}))
        .await;
    let posts_id = posts["id"].as_str().unwrap();
    assert_eq!(server.records_in(posts_id).await, 2);

    let (status, body) = server.delete("/api/collections/posts", Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());

    let response = server.get("/api/collections/posts", Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let id = record["id"].as_str().unwrap();
    let response = server.get(&record_path("posts", id), Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.list_records("posts", Some(&admin), &[]).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(server.records_in(posts_id).await, 0);
    assert!(server.raw_record(id).await.is_none());

    // The other collection is untouched.
    assert_eq!(server.records_in(other["id"].as_str().unwrap()).await, 1);
    let (status, read) = server
        .get(&record_path("other", kept["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, kept);

    // Gone means gone: deleting again is 404, the name is free again (and empty).
    let response = server.delete("/api/collections/posts", Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let again = server
        .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
        .await;
    assert_ne!(again["id"], posts["id"]);
    let list = server.list_ok("posts", None, &[]).await;
    assert_page(&list, 1, 20, 0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_that_relations_point_at_cannot_be_deleted() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "authors", "schema": {"fields": [{"name": "name", "type": "string"}]}}),
        )
        .await;
    server
        .create_collection(
            &admin,
            json!({"name": "books", "schema": {"fields": [
                {"name": "author", "type": "relation", "collection": "authors"},
            ]}}),
        )
        .await;
    let author = server
        .create_record("authors", Some(&admin), json!({"name": "Ann"}))
        .await;

    let response = server
        .delete("/api/collections/authors", Some(&admin))
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    let (status, _) = server.get("/api/collections/authors", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .get(
            &record_path("authors", author["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "records kept");

    // A relation to itself does not block deleting a collection.
    server
        .create_collection(
            &admin,
            json!({"name": "nodes", "schema": {"fields": [
                {"name": "parent", "type": "relation", "collection": "nodes"},
            ]}}),
        )
        .await;
    let (status, body) = server.delete("/api/collections/nodes", Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Once the referring collection is gone, the target can go.
    let (status, _) = server.delete("/api/collections/books", Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server
        .delete("/api/collections/authors", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn making_a_field_with_duplicates_unique_is_409_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let schema = json!({"fields": [{"name": "code", "type": "string"}]});
    let created = server
        .create_collection(&admin, json!({"name": "items", "schema": schema}))
        .await;
    for _ in 0..2 {
        server
            .create_record("items", Some(&admin), json!({"code": "same"}))
            .await;
    }
    let response = server
        .patch(
            "/api/collections/items",
            Some(&admin),
            json!({"schema": {"fields": [{"name": "code", "type": "string", "unique": true}]}}),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["code"]);

    let (_, read) = server.get("/api/collections/items", Some(&admin)).await;
    assert_eq!(read, created, "schema unchanged");
    let prefix = index_prefix(created["id"].as_str().unwrap());
    assert!(server.indexes_with_prefix(&prefix).await.is_empty());
    // The old (non-unique) schema is still the one in force.
    server
        .create_record("items", Some(&admin), json!({"code": "same"}))
        .await;

    // With the duplicates gone, the change goes through and is enforced.
    let list = server.list_ok("items", None, &[]).await;
    for item in &list["items"].as_array().unwrap()[1..] {
        let (status, _) = server
            .delete(
                &record_path("items", item["id"].as_str().unwrap()),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    server
        .patch_collection(
            &admin,
            "items",
            json!({"schema": {"fields": [{"name": "code", "type": "string", "unique": true}]}}),
        )
        .await;
    let indexes = server.indexes_with_prefix(&prefix).await;
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert_eq!(indexes[0].0, format!("{prefix}code"));
    assert!(indexes[0].1.contains("UNIQUE"), "{indexes:?}");
    let response = server
        .post(
            &records_path("items"),
            Some(&admin),
            json!({"code": "same"}),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["code"]);
}

/// A list query with just a filter.
fn filtered(filter: &str) -> RecordQuery {
    RecordQuery {
        filter: Some(filter.to_owned()),
        ..RecordQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_fields_get_an_expression_index_that_filters_use() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let schema = json!({"fields": [
        {"name": "rating", "type": "int", "indexed": true},
        {"name": "votes", "type": "int"},
    ]});
    let created = server
        .create_collection(&admin, json!({"name": "reviews", "schema": schema}))
        .await;
    let id = created["id"].as_str().unwrap();
    let prefix = index_prefix(id);
    let index = format!("{prefix}rating");
    let indexes = server.indexes_with_prefix(&prefix).await;
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert_eq!(indexes[0].0, index);
    assert!(
        indexes[0].1.contains("json_extract(data, '$.rating')"),
        "{indexes:?}"
    );
    for rating in 0..6 {
        server
            .create_record(
                "reviews",
                Some(&admin),
                json!({"rating": rating, "votes": rating}),
            )
            .await;
    }
    // The filter gives the right answer over HTTP…
    let list = server
        .list_ok("reviews", None, &[("filter", "rating > 3")])
        .await;
    assert_eq!(list["total_items"], 2);

    // …and the count behind it uses the index. Which plan six rows get depends on
    // whether the planner's statistics were gathered before or after them (the server's
    // start-up maintenance runs at a moment of its own), so first enough records for the
    // server's own statistics refresh, then one more write, which the writer takes
    // after that refresh.
    let service = server.app.collections().clone();
    for i in 0..600_i64 {
        let Value::Object(data) = json!({"rating": i % 6, "votes": i % 6}) else {
            unreachable!()
        };
        service
            .create_record(&tinybase::collections::Caller::system(), "reviews", data)
            .await
            .expect("create a review");
    }
    server
        .create_record("reviews", Some(&admin), json!({"rating": 5, "votes": 5}))
        .await;
    let list = server.list_statements("reviews", filtered("rating > 3"));
    assert!(
        list.count_sql
            .contains("json_extract(data, '$.rating') > ?"),
        "the filter compiles to the indexed expression: {}",
        list.count_sql
    );
    let plan = server
        .statement_work(&list.count_sql, list.params())
        .await
        .plan;
    assert!(
        plan.iter().any(|step| step.contains(&index)),
        "plan does not use {index}: {plan:?}"
    );
    // The plain query, spelled out, uses it too. (Ordered by creation it would rather
    // walk the collection in that order, which is the better plan for a page.)
    let plain = format!(
        "SELECT id FROM records WHERE collection_id = '{id}' \
         AND (json_extract(data, '$.rating') > ?)"
    );
    let plan = server.query_plan(&plain, vec![json!(3)]).await;
    assert!(
        plan.iter().any(|step| step.contains(&index)),
        "plan does not use {index}: {plan:?}"
    );
    // An unindexed field has no such index to use.
    let list = server.list_statements("reviews", filtered("votes > 3"));
    let plan = server
        .statement_work(&list.count_sql, list.params())
        .await
        .plan;
    assert!(
        !plan.iter().any(|step| step.contains("idx_records_")),
        "unindexed field uses an expression index: {plan:?}"
    );

    // Removing `indexed` drops the index.
    server
        .patch_collection(
            &admin,
            "reviews",
            json!({"schema": {"fields": [
                {"name": "rating", "type": "int"},
                {"name": "votes", "type": "int", "indexed": true},
            ]}}),
        )
        .await;
    let indexes = server.indexes_with_prefix(&prefix).await;
    let names: Vec<&str> = indexes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [format!("{prefix}votes")], "{indexes:?}");
    // Deleting the collection drops the rest.
    let (status, _) = server
        .delete("/api/collections/reviews", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(server.indexes_with_prefix(&prefix).await.is_empty());
    assert!(server.indexes_with_prefix("idx_records_").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_page_stops_early_and_its_total_comes_from_the_field_index() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let schema = json!({"fields": [{"name": "rating", "type": "int", "indexed": true}]});
    let created = server
        .create_collection(&admin, json!({"name": "reviews", "schema": schema}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let index = format!("{}rating", index_prefix(&id));
    // Enough records for the statistics to matter, seeded straight into the table, then
    // analysed by the server's periodic maintenance.
    let seed_id = id.clone();
    server
        .app
        .database()
        .write(move |tx| {
            let mut insert = tx.prepare(
                "INSERT INTO records (id, collection_id, data, created_at, updated_at)
                 VALUES (?1, ?2, json_object('rating', ?3), ?4, ?4)",
            )?;
            for i in 0..3_000_i64 {
                let at = format!(
                    "2026-01-01T{:02}:{:02}:{:02}.000000Z",
                    i / 3600,
                    i / 60 % 60,
                    i % 60
                );
                insert.execute(rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    seed_id,
                    i % 6,
                    at
                ])?;
            }
            Ok(())
        })
        .await
        .unwrap();
    server.app.database().optimize().await.unwrap();

    let list = server.list_statements("reviews", filtered("rating > 3"));
    let page = server
        .statement_work(&list.page_sql, list.page_params())
        .await;
    assert!(
        page.plan
            .iter()
            .any(|step| step.contains("records_collection_order"))
            && !page.plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "the page should walk the collection in list order and stop after 20: {page:?}"
    );
    let count = server.statement_work(&list.count_sql, list.params()).await;
    assert!(
        count.plan.iter().any(|step| step.contains(&index)),
        "the total should be counted from {index}: {count:?}"
    );

    // Totals are exact, also when asked again after a write.
    let list = server
        .list_ok(
            "reviews",
            None,
            &[("filter", "rating > 3"), ("per_page", "20")],
        )
        .await;
    assert_eq!(list["total_items"], 1_000);
    assert_eq!(item_values(&list, "rating").len(), 20);
    for _ in 0..3 {
        server
            .create_record("reviews", Some(&admin), json!({"rating": 5}))
            .await;
        let list = server
            .list_ok("reviews", None, &[("filter", "rating > 3")])
            .await;
        let again = server
            .list_ok("reviews", None, &[("filter", "rating > 3")])
            .await;
        assert_eq!(list["total_items"], again["total_items"]);
    }
    let list = server
        .list_ok("reviews", None, &[("filter", "rating > 3")])
        .await;
    assert_eq!(list["total_items"], 1_003);
    let (status, _) = server
        .delete(&record_path("reviews", &item_ids(&list)[0]), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..10 {
        let list = server
            .list_ok("reviews", None, &[("filter", "rating > 3")])
            .await;
        assert_eq!(list["total_items"], 1_002, "a stale total after a delete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_list_stays_fast_when_records_arrive_after_the_index() {
    // The way users build a collection: made (with its index) while empty, then filled
    // through the record service, with no restart. The statistics from when the index
    // was empty must not decide the plan for good.
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let schema = json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "rating", "type": "int", "indexed": true},
    ]});
    let created = server
        .create_collection(&admin, json!({"name": "posts", "schema": schema}))
        .await;
    let index = format!("{}rating", index_prefix(created["id"].as_str().unwrap()));
    let service = server.app.collections().clone();
    let writers: Vec<_> = (0..8_i64)
        .map(|writer| {
            let service = service.clone();
            tokio::spawn(async move {
                for i in 0..1_250_i64 {
                    let data =
                        json!({"title": format!("post {writer}/{i}"), "rating": (i + writer) % 6});
                    let Value::Object(data) = data else {
                        unreachable!()
                    };
                    service
                        .create_record(&tinybase::collections::Caller::system(), "posts", data)
                        .await
                        .expect("create a post");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    // One more write over HTTP: it queues behind anything the burst asked the writer for.
    server
        .create_record("posts", Some(&admin), json!({"title": "last", "rating": 5}))
        .await;

    let list = server.list_statements("posts", filtered("rating > 3"));
    let page = server
        .statement_work(&list.page_sql, list.page_params())
        .await;
    let count = server.statement_work(&list.count_sql, list.params()).await;
    assert!(
        page.plan
            .iter()
            .any(|step| step.contains("records_collection_order"))
            && !page.plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "the page should walk the collection in list order and stop after 20: {page:?}"
    );
    assert!(
        count.plan.iter().any(|step| step.contains(&index)),
        "the total should be counted from {index}: {count:?}"
    );
    // A page of 20 reads about 60 records (a third match); counting reads all 3,334
    // index entries. Sorting every match instead would cost more than the count.
    assert!(
        page.steps * 10 < count.steps,
        "a page should cost far less than counting every match: page {page:?}, count {count:?}"
    );

    // What a restart would do (analyse everything afresh) changes neither plan.
    server.app.database().optimize().await.unwrap();
    let fresh_page = server
        .statement_work(&list.page_sql, list.page_params())
        .await;
    let fresh_count = server.statement_work(&list.count_sql, list.params()).await;
    assert_eq!(page.plan, fresh_page.plan);
    assert_eq!(count.plan, fresh_count.plan);
    assert_eq!(page.steps, fresh_page.steps);

    // And the API answers with the exact total.
    let listed = server
        .list_ok("posts", None, &[("filter", "rating > 3")])
        .await;
    let matching = (0..8_i64)
        .flat_map(|writer| (0..1_250_i64).map(move |i| (i + writer) % 6))
        .filter(|rating| *rating > 3)
        .count()
        + 1;
    assert_eq!(listed["total_items"], matching);
    assert_eq!(item_values(&listed, "rating").len(), 20);
}

/// Follows a `$ref` to a component schema; panics when it dangles.
#[track_caller]
fn resolve<'a>(doc: &'a Value, reference: &Value) -> &'a Value {
    let reference = reference["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("not a $ref: {reference}"));
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("not a component ref: {reference}"));
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "dangling $ref {reference}");
    schema
}

async fn openapi(server: &TestServer) -> Value {
    let (status, doc) = server.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_follows_collection_changes() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let list_path = "/api/collections/blog_posts/records";
    let item_path = "/api/collections/blog_posts/records/{id}";

    let doc = openapi(&server).await;
    assert!(doc["paths"].get(list_path).is_none());
    assert!(doc["components"]["schemas"].get("BlogPostsData").is_none());

    server
        .create_collection(
            &admin,
            json!({"name": "blog_posts", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
            ]}}),
        )
        .await;
    let doc = openapi(&server).await;
    let data = &doc["components"]["schemas"]["BlogPostsData"];
    assert!(data["properties"]["title"].is_object(), "{data}");
    assert!(data["properties"].get("summary").is_none(), "{data}");
    let create = &doc["components"]["schemas"]["BlogPostsCreate"];
    assert_eq!(create["required"], json!(["title"]), "{create}");

    // Every operation is there and its $refs resolve.
    let list = &doc["paths"][list_path];
    let item = &doc["paths"][item_path];
    for (path, method, status) in [
        (list, "get", "200"),
        (list, "post", "201"),
        (item, "get", "200"),
        (item, "patch", "200"),
        (item, "delete", "204"),
    ] {
        let operation = &path[method];
        assert!(operation.is_object(), "{method} missing: {path}");
        assert!(operation["responses"][status].is_object(), "{operation}");
        if status != "204" {
            let schema = &operation["responses"][status]["content"]["application/json"]["schema"];
            let target = resolve(&doc, schema);
            assert_eq!(target["type"], "object", "{target}");
        }
        if let Some(body) = operation.get("requestBody") {
            resolve(&doc, &body["content"]["application/json"]["schema"]);
        }
        resolve(
            &doc,
            &operation["responses"]["default"]["content"]["application/json"]["schema"],
        );
    }
    let record = resolve(
        &doc,
        &list["post"]["responses"]["201"]["content"]["application/json"]["schema"],
    );
    assert_eq!(
        resolve(&doc, &record["properties"]["data"]),
        data,
        "a record's data is the Data schema"
    );
    assert_eq!(
        resolve(
            &doc,
            &list["post"]["requestBody"]["content"]["application/json"]["schema"]
        ),
        create
    );

    // A schema change shows in the very next document.
    server
        .patch_collection(
            &admin,
            "blog_posts",
            json!({"schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "summary", "type": "text", "max_length": 300},
            ]}}),
        )
        .await;
    let doc = openapi(&server).await;
    let data = &doc["components"]["schemas"]["BlogPostsData"];
    let summary = &data["properties"]["summary"];
    assert_eq!(summary["type"], "string", "{data}");
    assert_eq!(summary["maxLength"], 300, "{data}");
    assert!(doc["components"]["schemas"]["BlogPostsUpdate"]["properties"]["summary"].is_object());

    // Deleting the collection removes its paths and schemas.
    let (status, _) = server
        .delete("/api/collections/blog_posts", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let doc = openapi(&server).await;
    assert!(doc["paths"].get(list_path).is_none(), "list path kept");
    assert!(doc["paths"].get(item_path).is_none(), "item path kept");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(
        !schemas.keys().any(|k| k.starts_with("BlogPosts")),
        "schemas kept: {:?}",
        schemas.keys().collect::<Vec<_>>()
    );
    // The generic record routes stay.
    assert!(doc["paths"]["/api/collections/{name}/records"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_component_names_do_not_collide() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for (name, field) in [("post2", "plain"), ("post_2", "underscored")] {
        server
            .create_collection(
                &admin,
                json!({"name": name, "schema": {"fields": [{"name": field, "type": "string"}]}}),
            )
            .await;
    }
    let doc = openapi(&server).await;
    for (name, field) in [("post2", "plain"), ("post_2", "underscored")] {
        let create = &doc["paths"][format!("/api/collections/{name}/records")]["post"];
        let record = resolve(
            &doc,
            &create["responses"]["201"]["content"]["application/json"]["schema"],
        );
        let data = resolve(&doc, &record["properties"]["data"]);
        let properties: Vec<&String> = data["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert_eq!(
            properties,
            [field],
            "`{name}` documents another collection: {data}"
        );
        let body = resolve(
            &doc,
            &create["requestBody"]["content"]["application/json"]["schema"],
        );
        assert!(body["properties"][field].is_object(), "{name}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_where_objects_belong_are_422() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for (body, key) in [
        (json!({"name": "bad", "schema": []}), "schema"),
        (
            json!({"name": "bad", "schema": [[{"name": "x", "type": "string"}]]}),
            "schema",
        ),
        (
            json!({"name": "bad", "schema": {"fields": [["x", "string"]]}}),
            "schema.fields[0]",
        ),
        (
            json!({"name": "bad", "options": ["admin", "admin", "admin", "admin", "admin"]}),
            "options",
        ),
    ] {
        let response = server
            .post("/api/collections", Some(&admin), body.clone())
            .await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            field_error_keys(&response.1),
            [key],
            "{body}: {}",
            response.1
        );
    }
    assert_eq!(collection_count(&server, &admin).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_limited() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let response = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "posts", "label": "é".repeat(201)}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&response.1), ["label"]);
    // Characters, not bytes.
    let created = server
        .create_collection(&admin, json!({"name": "posts", "label": "é".repeat(200)}))
        .await;
    let response = server
        .patch(
            "/api/collections/posts",
            Some(&admin),
            json!({"label": "x".repeat(201)}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&response.1), ["label"]);
    let (_, read) = server.get("/api/collections/posts", Some(&admin)).await;
    assert_eq!(read, created);
}
