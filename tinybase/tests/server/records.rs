//! Records over real HTTP: every field type and constraint, defaults, PATCH merge
//! semantics, unique values, relations, odd ids and concurrent writers.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::HashSet;

use common::records::{
    assert_record_shape, field_error_keys, field_errors, record_path, records_path,
};
use common::{TestServer, assert_status_error, timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn user_id(server: &TestServer, token: &str) -> String {
    let (status, me) = server.get("/api/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["id"].as_str().expect("id").to_owned()
}

/// Asserts a 422 whose `details.fields` names exactly `fields`.
#[track_caller]
fn assert_invalid(response: &(StatusCode, Value), fields: &[&str]) {
    assert_status_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let keys = field_error_keys(&response.1);
    let mut expected: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    expected.sort();
    assert_eq!(keys, expected, "{}", response.1);
    for message in field_errors(&response.1).values() {
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            response.1
        );
    }
}

/// A collection with one field of every type, and the collection its relation points at.
async fn every_type(server: &TestServer, admin: &str) -> String {
    server
        .create_collection(admin, json!({"name": "targets"}))
        .await;
    server
        .create_collection(
            admin,
            json!({"name": "typed", "schema": {"fields": [
                {"name": "s", "type": "string"},
                {"name": "t", "type": "text"},
                {"name": "i", "type": "int"},
                {"name": "f", "type": "float"},
                {"name": "b", "type": "boolean"},
                {"name": "dt", "type": "datetime"},
                {"name": "d", "type": "date"},
                {"name": "e", "type": "email"},
                {"name": "u", "type": "url"},
                {"name": "sel", "type": "select", "values": ["a", "b"]},
                {"name": "j", "type": "json"},
                {"name": "ls", "type": "list[string]"},
                {"name": "li", "type": "list[int]"},
                {"name": "lf", "type": "list[float]"},
                {"name": "rel", "type": "relation", "collection": "targets"},
            ]}}),
        )
        .await;
    let target = server
        .create_record("targets", Some(admin), json!({}))
        .await;
    target["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_type_takes_its_values_and_refuses_others() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let admin_id = user_id(&server, &admin).await;
    let target = every_type(&server, &admin).await;

    let valid = json!({
        "s": "hello", "t": "a longer\ntext", "i": -42, "f": 1.5, "b": false,
        "dt": "2026-01-01T01:00:00+01:00", "d": "2024-02-29", "e": "  Ann@Example.com ",
        "u": "https://example.com/a?b=c", "sel": "b", "j": {"nested": [1, null, "x"]},
        "ls": ["x", "y"], "li": [1, -2], "lf": [1.5, 2], "rel": target,
    });
    let record = server
        .create_record("typed", Some(&admin), valid.clone())
        .await;
    assert_record_shape(&record, "typed", Some(&admin_id));
    let mut stored = valid.clone();
    // Datetimes are stored in UTC, emails trimmed; everything else as given.
    stored["dt"] = json!("2026-01-01T00:00:00.000000Z");
    stored["e"] = json!("Ann@Example.com");
    assert_eq!(record["data"], stored);
    let (status, read) = server
        .get(&record_path("typed", record["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, record);

    // More valid values, one field at a time, as sent and as stored.
    let more_valid = [
        ("s", json!(""), json!("")),
        ("t", json!("éé"), json!("éé")),
        ("i", json!(i64::MAX), json!(i64::MAX)),
        ("i", json!(i64::MIN), json!(i64::MIN)),
        ("f", json!(-3), json!(-3)),
        ("b", json!(true), json!(true)),
        (
            "dt",
            json!("2026-06-30T23:30:00.5-02:00"),
            json!("2026-07-01T01:30:00.500000Z"),
        ),
        ("d", json!("2026-12-31"), json!("2026-12-31")),
        ("e", json!("x@y.io"), json!("x@y.io")),
        (
            "u",
            json!("http://localhost:8000"),
            json!("http://localhost:8000"),
        ),
        ("sel", json!("a"), json!("a")),
        ("j", json!("just text"), json!("just text")),
        ("j", json!([1, 2]), json!([1, 2])),
        ("j", json!(false), json!(false)),
        ("ls", json!([]), json!([])),
        ("li", json!([i64::MIN]), json!([i64::MIN])),
        ("lf", json!([0.25]), json!([0.25])),
        ("rel", json!(target.to_uppercase()), json!(target)),
    ];
    for (field, sent, stored) in more_valid {
        let record = server
            .create_record("typed", Some(&admin), json!({ field: sent }))
            .await;
        assert_eq!(record["data"], json!({ field: stored }), "{field}");
    }

    // Invalid values, one field at a time: 422 naming exactly that field.
    let invalid = [
        ("s", json!(5)),
        ("s", json!(["a"])),
        ("t", json!({"a": 1})),
        ("i", json!(3.5)),
        ("i", json!("3")),
        ("i", json!(3.0)),
        ("i", json!(u64::MAX)),
        ("f", json!("1.5")),
        ("f", json!(true)),
        ("b", json!("true")),
        ("b", json!(1)),
        ("dt", json!("2026-01-01 01:00")),
        ("dt", json!("2026-01-01T01:00:00")),
        ("dt", json!(1_767_225_600)),
        ("d", json!("2026-02-30")),
        ("d", json!("28/02/2026")),
        ("e", json!("ann@")),
        ("e", json!("ann")),
        ("u", json!("example.com")),
        ("u", json!("ftp://example.com")),
        ("u", json!("javascript:alert(1)")),
        ("sel", json!("c")),
        ("sel", json!("A")),
        ("ls", json!(["a", 3])),
        ("ls", json!("a")),
        ("li", json!([1, 2.5])),
        ("li", json!([1, "2"])),
        ("lf", json!([1, "2"])),
        ("lf", json!(1.5)),
        ("rel", json!("not-a-uuid")),
        ("rel", json!(12)),
    ];
    let before = server.all_records_count().await;
    for (field, value) in invalid {
        let response = server
            .post(
                &records_path("typed"),
                Some(&admin),
                json!({ field: value }),
            )
            .await;
        assert_invalid(&response, &[field]);
    }

    // Every bad field at once is reported at once, unknown fields too.
    let response = server
        .post(
            &records_path("typed"),
            Some(&admin),
            json!({
                "s": 1, "t": 2, "i": "x", "f": "y", "b": "z", "dt": "noon", "d": "today",
                "e": "nobody", "u": "nowhere", "sel": "c", "ls": [1], "li": ["a"],
                "lf": ["b"], "rel": "r", "extra": true, "id": "mine",
            }),
        )
        .await;
    assert_invalid(
        &response,
        &[
            "s", "t", "i", "f", "b", "dt", "d", "e", "u", "sel", "ls", "li", "lf", "rel", "extra",
            "id",
        ],
    );
    assert_eq!(server.all_records_count().await, before, "nothing stored");

    // A body that is not an object is refused, not stored.
    let response = server
        .post(&records_path("typed"), Some(&admin), json!([{"s": "x"}]))
        .await;
    assert_invalid(&response, &["body"]);
    assert_eq!(server.all_records_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_constraint_is_enforced() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(admin.as_str(), json!({"name": "targets"}))
        .await;
    let target = server
        .create_record("targets", Some(&admin), json!({}))
        .await;
    let target = target["id"].as_str().unwrap();
    server
        .create_collection(
            &admin,
            json!({"name": "rules", "schema": {"fields": [
                {"name": "req", "type": "string", "required": true},
                {"name": "def", "type": "int", "default": 7},
                {"name": "low", "type": "int", "min": 1},
                {"name": "high", "type": "float", "max": 2.5},
                {"name": "short", "type": "string", "min_length": 2},
                {"name": "chars", "type": "text", "max_length": 4},
                {"name": "code", "type": "string", "pattern": "^[A-Z]{3}$"},
                {"name": "tags", "type": "list[string]", "min_length": 1, "max_length": 2, "pattern": "^[a-z]+$"},
                {"name": "scores", "type": "list[int]", "min": 0, "max": 10},
                {"name": "idx", "type": "int", "indexed": true},
                {"name": "status", "type": "select", "values": ["draft", "live"]},
                {"name": "link", "type": "relation", "collection": "targets"},
            ]}}),
        )
        .await;

    // Only the required field given: the default fills in, nothing else appears.
    let record = server
        .create_record("rules", Some(&admin), json!({"req": "x"}))
        .await;
    assert_eq!(record["data"], json!({"req": "x", "def": 7}));
    let response = server
        .post(&records_path("rules"), Some(&admin), json!({"def": 1}))
        .await;
    assert_invalid(&response, &["req"]);
    let response = server
        .post(&records_path("rules"), Some(&admin), json!({"req": null}))
        .await;
    assert_invalid(&response, &["req"]);

    let cases = [
        ("def", json!(8), json!("eight")),
        ("low", json!(1), json!(0)),
        ("high", json!(2.5), json!(2.51)),
        ("short", json!("ab"), json!("a")),
        ("chars", json!("éééé"), json!("ééééé")),
        ("code", json!("ABC"), json!("abc")),
        ("code", json!("XYZ"), json!("ABCD")),
        ("tags", json!(["a", "b"]), json!([])),
        ("tags", json!(["a"]), json!(["a", "b", "c"])),
        ("tags", json!(["ok"]), json!(["Not ok"])),
        ("scores", json!([0, 10]), json!([11])),
        ("scores", json!([]), json!([5, -1])),
        ("idx", json!(3), json!("3")),
        ("status", json!("live"), json!("archived")),
        (
            "link",
            json!(target),
            json!(uuid::Uuid::now_v7().to_string()),
        ),
    ];
    for (field, good, bad) in cases {
        let record = server
            .create_record("rules", Some(&admin), json!({"req": "x", field: good}))
            .await;
        assert_eq!(record["data"][field], good, "{field}");
        let before = server.all_records_count().await;
        let response = server
            .post(
                &records_path("rules"),
                Some(&admin),
                json!({"req": "x", field: bad}),
            )
            .await;
        assert_invalid(&response, &[field]);
        assert_eq!(server.all_records_count().await, before, "{field}: stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_apply_to_absent_and_null_fields_on_create_only() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "tasks", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "status", "type": "select", "values": ["todo", "done"], "default": "todo"},
                {"name": "priority", "type": "int", "required": true, "default": 3},
                {"name": "due", "type": "datetime", "default": "2026-01-01T01:00:00+01:00"},
                {"name": "tags", "type": "list[string]", "default": ["new"]},
                {"name": "meta", "type": "json", "default": {"a": 1}},
                {"name": "note", "type": "text"},
            ]}}),
        )
        .await;
    let defaults = json!({
        "status": "todo", "priority": 3, "due": "2026-01-01T00:00:00.000000Z",
        "tags": ["new"], "meta": {"a": 1},
    });
    let record = server
        .create_record("tasks", Some(&admin), json!({"title": "a"}))
        .await;
    let mut expected = defaults.clone();
    expected["title"] = json!("a");
    assert_eq!(record["data"], expected);

    // Null is the same as absent on create.
    let record = server
        .create_record(
            "tasks",
            Some(&admin),
            json!({"title": "a", "status": null, "priority": null, "note": null}),
        )
        .await;
    assert_eq!(record["data"], expected);

    // Given values win.
    let given = json!({"title": "b", "status": "done", "priority": 1,
                      "due": "2026-05-05T00:00:00.000000Z", "tags": [], "meta": null, "note": "n"});
    let record = server
        .create_record("tasks", Some(&admin), given.clone())
        .await;
    let mut expected = given.clone();
    expected["meta"] = json!({"a": 1});
    assert_eq!(record["data"], expected);

    // PATCH does not re-apply defaults: a removed optional field stays removed.
    let id = record["id"].as_str().unwrap();
    let (status, patched) = server
        .patch(
            &record_path("tasks", id),
            Some(&admin),
            json!({"status": null, "tags": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(patched["data"].get("status").is_none(), "{patched}");
    assert!(patched["data"].get("tags").is_none(), "{patched}");
    // …and a required field with a default cannot be removed.
    let response = server
        .patch(
            &record_path("tasks", id),
            Some(&admin),
            json!({"priority": null}),
        )
        .await;
    assert_invalid(&response, &["priority"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_merges_then_validates_the_whole_record() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (user, _) = server.register("owner@example.com", "owner-password").await;
    let owner_id = user_id(&server, &user).await;
    let schema = |max_rating: u32| {
        json!({"fields": [
            {"name": "title", "type": "string", "required": true},
            {"name": "body", "type": "text"},
            {"name": "rating", "type": "int", "max": max_rating},
            {"name": "tags", "type": "list[string]"},
        ]})
    };
    server
        .create_collection(&admin, json!({"name": "posts", "schema": schema(5)}))
        .await;
    let created = server
        .create_record(
            "posts",
            Some(&user),
            json!({"title": "Old", "body": "Body", "rating": 3, "tags": ["a", "b"]}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let path = record_path("posts", id);

    // Replace one, remove one (null), keep the rest; lists are replaced whole.
    let (status, patched) = server
        .patch(
            &path,
            Some(&user),
            json!({"title": "New", "rating": null, "tags": ["c"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_record_shape(&patched, "posts", Some(&owner_id));
    assert_eq!(
        patched["data"],
        json!({"title": "New", "body": "Body", "tags": ["c"]})
    );
    assert_eq!(patched["id"], created["id"]);
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(timestamp(&patched["updated_at"]) >= timestamp(&created["updated_at"]));
    let (_, read) = server.get(&path, None).await;
    assert_eq!(read, patched, "GET shows what PATCH returned");

    // An empty patch changes no data.
    let (status, same) = server.patch(&path, Some(&user), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["data"], patched["data"]);

    // Bad patches: 422 naming the fields, and nothing changes.
    for (body, fields) in [
        (json!({"title": null}), vec!["title"]),
        (json!({"rating": 6}), vec!["rating"]),
        (json!({"rating": "4", "body": 5}), vec!["rating", "body"]),
        (json!({"subtitle": "x"}), vec!["subtitle"]),
        (
            json!({"owner_id": "me", "created_at": "now"}),
            vec!["owner_id", "created_at"],
        ),
    ] {
        let response = server.patch(&path, Some(&user), body.clone()).await;
        assert_invalid(&response, &fields);
        let (_, read) = server.get(&path, None).await;
        assert_eq!(read["data"], same["data"], "{body} changed the record");
        assert_eq!(read["owner_id"], owner_id);
    }

    // The whole result is validated: tighten the schema under a stored value…
    let (status, _) = server
        .patch(&path, Some(&admin), json!({"rating": 5}))
        .await;
    assert_eq!(status, StatusCode::OK);
    server
        .patch_collection(&admin, "posts", json!({"schema": schema(2)}))
        .await;
    // …then a patch that leaves it alone is refused, naming the stale field…
    let response = server.patch(&path, Some(&user), json!({"body": "x"})).await;
    assert_invalid(&response, &["rating"]);
    // …and fixing it in the same patch works.
    let (status, fixed) = server
        .patch(&path, Some(&user), json!({"body": "x", "rating": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    assert_eq!(
        fixed["data"],
        json!({"title": "New", "body": "x", "rating": 2, "tags": ["c"]})
    );
    assert_eq!(
        fixed["owner_id"], owner_id,
        "an admin's edit keeps the owner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_fields_refuse_taken_values_with_409() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let created = server
        .create_collection(
            &admin,
            json!({"name": "members", "schema": {"fields": [
                {"name": "handle", "type": "string", "unique": true},
                {"name": "number", "type": "int", "unique": true},
                {"name": "bio", "type": "text"},
            ]}}),
        )
        .await;
    let a = server
        .create_record(
            "members",
            Some(&admin),
            json!({"handle": "ann", "number": 1}),
        )
        .await;
    let before = server.all_records_count().await;
    let response = server
        .post(
            &records_path("members"),
            Some(&admin),
            json!({"handle": "ann", "number": 2}),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["handle"]);
    let response = server
        .post(
            &records_path("members"),
            Some(&admin),
            json!({"handle": "ann", "number": 1}),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["handle", "number"]);
    assert_eq!(server.all_records_count().await, before);

    // Case matters: "Ann" is another value.
    let b = server
        .create_record(
            "members",
            Some(&admin),
            json!({"handle": "Ann", "number": 2}),
        )
        .await;
    // Absent values never clash.
    for _ in 0..2 {
        server
            .create_record("members", Some(&admin), json!({"bio": "anonymous"}))
            .await;
    }

    // PATCH onto a taken value: 409, unchanged.
    let b_path = record_path("members", b["id"].as_str().unwrap());
    let response = server
        .patch(&b_path, Some(&admin), json!({"handle": "ann"}))
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(field_error_keys(&response.1), ["handle"]);
    let (_, read) = server.get(&b_path, None).await;
    assert_eq!(read, b);
    // Keeping (or re-sending) its own value is fine.
    let a_path = record_path("members", a["id"].as_str().unwrap());
    let (status, patched) = server
        .patch(&a_path, Some(&admin), json!({"handle": "ann", "bio": "hi"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["data"],
        json!({"handle": "ann", "number": 1, "bio": "hi"})
    );
    let (status, patched) = server
        .patch(&a_path, Some(&admin), json!({"bio": "again"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");

    // A freed value can be taken.
    let (status, _) = server
        .patch(&a_path, Some(&admin), json!({"handle": "annie"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, patched) = server
        .patch(&b_path, Some(&admin), json!({"handle": "ann"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");

    // Another collection's values are not compared.
    server
        .create_collection(
            &admin,
            json!({"name": "others", "schema": created["schema"].clone()}),
        )
        .await;
    server
        .create_record(
            "others",
            Some(&admin),
            json!({"handle": "ann", "number": 1}),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_must_name_a_record_of_the_target_collection() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for name in ["authors", "publishers"] {
        server
            .create_collection(
                &admin,
                json!({"name": name, "schema": {"fields": [{"name": "name", "type": "string"}]}}),
            )
            .await;
    }
    server
        .create_collection(
            &admin,
            json!({"name": "books", "schema": {"fields": [
                {"name": "title", "type": "string"},
                {"name": "author", "type": "relation", "collection": "authors", "required": true},
            ]}}),
        )
        .await;
    let author = server
        .create_record("authors", Some(&admin), json!({"name": "Ann"}))
        .await;
    let author_id = author["id"].as_str().unwrap();
    let publisher = server
        .create_record("publishers", Some(&admin), json!({"name": "Pub"}))
        .await;
    let publisher_id = publisher["id"].as_str().unwrap();

    let book = server
        .create_record(
            "books",
            Some(&admin),
            json!({"title": "B", "author": author_id}),
        )
        .await;
    assert_eq!(book["data"]["author"], author_id);
    // Upper-case spelling of an existing id is the same id.
    let upper = server
        .create_record(
            "books",
            Some(&admin),
            json!({"author": author_id.to_uppercase()}),
        )
        .await;
    assert_eq!(upper["data"]["author"], author_id);

    let before = server.all_records_count().await;
    let missing = uuid::Uuid::now_v7().to_string();
    for bad in [missing.as_str(), publisher_id, book["id"].as_str().unwrap()] {
        let response = server
            .post(&records_path("books"), Some(&admin), json!({"author": bad}))
            .await;
        assert_invalid(&response, &["author"]);
    }
    assert_eq!(server.all_records_count().await, before);

    // The same on PATCH.
    let path = record_path("books", book["id"].as_str().unwrap());
    for bad in [missing.as_str(), publisher_id] {
        let response = server
            .patch(&path, Some(&admin), json!({"author": bad}))
            .await;
        assert_invalid(&response, &["author"]);
    }
    let (_, read) = server.get(&path, None).await;
    assert_eq!(read, book);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_ids_that_are_not_uuids_are_404() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "posts", "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .await;
    server
        .create_collection(&admin, json!({"name": "other"}))
        .await;
    let record = server
        .create_record("posts", Some(&admin), json!({"title": "x"}))
        .await;
    let id = record["id"].as_str().unwrap();
    let before = server.all_records_count().await;

    let bad_ids = [
        "not-a-uuid".to_owned(),
        "1".to_owned(),
        "%27%20OR%20%271%27%3D%271".to_owned(),
        "x".repeat(36),
        format!("{id}0"),
        uuid::Uuid::now_v7().to_string(),
    ];
    for bad in &bad_ids {
        let path = record_path("posts", bad);
        let response = server.get(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server
            .patch(&path, Some(&admin), json!({"title": "y"}))
            .await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server.delete(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    // A real id under the wrong collection, or an unknown collection, is not found either.
    for path in [record_path("other", id), record_path("nothing", id)] {
        let response = server.get(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server
            .patch(&path, Some(&admin), json!({"title": "y"}))
            .await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server.delete(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    let response = server
        .post(&records_path("nothing"), Some(&admin), json!({}))
        .await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.list_records("nothing", Some(&admin), &[]).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");

    assert_eq!(server.all_records_count().await, before);
    let (status, read) = server.get(&record_path("posts", id), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, record);
    // The same id in capitals names the same record.
    let (status, read) = server
        .get(&record_path("posts", &id.to_uppercase()), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["id"], id);

    // DELETE answers 204 once, then 404.
    let (status, body) = server.delete(&record_path("posts", id), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());
    let response = server.get(&record_path("posts", id), None).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.delete(&record_path("posts", id), Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(server.all_records_count().await, before - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_hundred_concurrent_creates_from_32_clients_all_land() {
    const CLIENTS: usize = 32;
    const TOTAL: usize = 400;
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "events", "schema": {"fields": [
                {"name": "client", "type": "int", "required": true, "indexed": true},
                {"name": "seq", "type": "int", "required": true, "unique": true},
                {"name": "label", "type": "string", "max_length": 50},
            ]}}),
        )
        .await;

    let url = server.url(&records_path("events"));
    let mut tasks = Vec::new();
    for client_no in 0..CLIENTS {
        // 400 = 16 × 13 + 16 × 12.
        let count = TOTAL / CLIENTS + usize::from(client_no < TOTAL % CLIENTS);
        let url = url.clone();
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("http client");
            let mut results = Vec::new();
            for n in 0..count {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({
                        "client": client_no,
                        "seq": client_no * 100 + n,
                        "label": format!("client {client_no} #{n}"),
                    }))
                    .send()
                    .await
                    .expect("send");
                let status = response.status();
                let body: Value = response.json().await.expect("JSON body");
                results.push((status, body));
            }
            results
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        for (status, body) in task.await.expect("client task") {
            assert!(!status.is_server_error(), "{status}: {body}");
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert!(ids.insert(body["id"].as_str().expect("id").to_owned()));
        }
    }
    assert_eq!(ids.len(), TOTAL);

    let list = server.list_ok("events", None, &[("per_page", "500")]).await;
    assert_eq!(list["total_items"], TOTAL);
    let listed: HashSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids);
    // Each client's records are all there.
    let list = server
        .list_ok(
            "events",
            None,
            &[("filter", "client = 31"), ("sort", "seq")],
        )
        .await;
    assert_eq!(list["total_items"], TOTAL / CLIENTS);
    let seqs: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (3100..3100 + 12).collect::<Vec<i64>>());
}
