//! Relations that hold over real HTTP: deleting a record others point at is refused
//! (`restrict`, the default), takes them along (`cascade`) or clears their field
//! (`set_null`), all in one transaction and each write in the change log; cascades that
//! could loop are refused when a schema is saved.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{field_errors, record_path};
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

async fn collection(server: &TestServer, admin: &str, name: &str, fields: Value) {
    server
        .create_collection(
            admin,
            json!({"name": name, "schema": {"fields": fields},
                   "options": {"create_rule": "auth", "update_rule": "auth", "delete_rule": "auth"}}),
        )
        .await;
}

async fn exists(server: &TestServer, collection: &str, record: &Value, admin: &str) -> bool {
    let (status, _) = server
        .get(
            &record_path(collection, record["id"].as_str().unwrap()),
            Some(admin),
        )
        .await;
    status == StatusCode::OK
}

/// authors ← posts.author (`post_on_delete`) ← comments.post (cascade) ← likes.comment
/// (`like_on_delete`); posts.category → categories (set_null).
async fn blog(server: &TestServer, admin: &str, post_on_delete: Value, like_on_delete: &str) {
    collection(
        server,
        admin,
        "authors",
        json!([{"name": "name", "type": "string"}]),
    )
    .await;
    collection(
        server,
        admin,
        "categories",
        json!([{"name": "name", "type": "string"}]),
    )
    .await;
    let mut author = json!({"name": "author", "type": "relation", "collection": "authors"});
    if !post_on_delete.is_null() {
        author["on_delete"] = post_on_delete;
    }
    collection(
        server,
        admin,
        "posts",
        json!([
            {"name": "title", "type": "string"},
            author,
            {"name": "category", "type": "relation", "collection": "categories", "on_delete": "set_null"},
        ]),
    )
    .await;
    collection(
        server,
        admin,
        "comments",
        json!([{"name": "post", "type": "relation", "collection": "posts", "on_delete": "cascade"}]),
    )
    .await;
    collection(
        server,
        admin,
        "likes",
        json!([{"name": "comment", "type": "relation", "collection": "comments", "on_delete": like_on_delete}]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referenced_record_cannot_be_deleted_by_default() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, Value::Null, "cascade").await;
    let author = server
        .create_record("authors", Some(&admin), json!({"name": "ann"}))
        .await;
    let post = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "p", "author": author["id"]}),
        )
        .await;
    let before = last_seq(&server).await;
    let path = record_path("authors", author["id"].as_str().unwrap());
    let response = server.delete(&path, Some(&admin)).await;
    let error = assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        error["details"]["referenced_by"],
        json!(["posts.author"]),
        "{error}"
    );
    assert!(exists(&server, "authors", &author, &admin).await);
    assert_eq!(
        last_seq(&server).await,
        before,
        "a refused delete logged a change"
    );

    // Once nothing points at it, it goes.
    let (status, _) = server
        .delete(
            &record_path("posts", post["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascades_and_set_null_happen_in_the_same_transaction_and_are_logged() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, json!("cascade"), "cascade").await;
    let author = server
        .create_record("authors", Some(&admin), json!({"name": "ann"}))
        .await;
    let other_author = server
        .create_record("authors", Some(&admin), json!({"name": "bob"}))
        .await;
    let category = server
        .create_record("categories", Some(&admin), json!({"name": "rust"}))
        .await;
    let post = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "p", "author": author["id"], "category": category["id"]}),
        )
        .await;
    let kept = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "kept", "author": other_author["id"], "category": category["id"]}),
        )
        .await;
    let comment = server
        .create_record("comments", Some(&admin), json!({"post": post["id"]}))
        .await;
    let like = server
        .create_record("likes", Some(&admin), json!({"comment": comment["id"]}))
        .await;

    // set_null: the category goes; the posts stay, without it.
    let before = last_seq(&server).await;
    let (status, _) = server
        .delete(
            &record_path("categories", category["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for p in [&post, &kept] {
        let (_, now) = server
            .get(
                &record_path("posts", p["id"].as_str().unwrap()),
                Some(&admin),
            )
            .await;
        assert_eq!(now["data"].get("category"), None, "{now}");
        assert_eq!(now["data"]["title"], p["data"]["title"]);
    }
    let logged: Vec<(ChangeAction, String)> = log_after(&server, before)
        .await
        .into_iter()
        .map(|c| (c.action, c.collection))
        .collect();
    assert_eq!(
        logged,
        vec![
            (ChangeAction::Update, "posts".to_owned()),
            (ChangeAction::Update, "posts".to_owned()),
            (ChangeAction::Delete, "categories".to_owned()),
        ]
    );

    // cascade, two levels deep: the author's post, its comment and the comment's like.
    let before = last_seq(&server).await;
    let (status, _) = server
        .delete(
            &record_path("authors", author["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (collection, record) in [
        ("authors", &author),
        ("posts", &post),
        ("comments", &comment),
        ("likes", &like),
    ] {
        assert!(
            !exists(&server, collection, record, &admin).await,
            "{collection} survived"
        );
    }
    assert!(exists(&server, "posts", &kept, &admin).await);
    let logged: Vec<(ChangeAction, String, String)> = log_after(&server, before)
        .await
        .into_iter()
        .map(|c| (c.action, c.collection, c.record_id))
        .collect();
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();
    assert_eq!(
        logged,
        vec![
            (ChangeAction::Delete, "likes".to_owned(), id(&like)),
            (ChangeAction::Delete, "comments".to_owned(), id(&comment)),
            (ChangeAction::Delete, "posts".to_owned(), id(&post)),
            (ChangeAction::Delete, "authors".to_owned(), id(&author)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restrict_anywhere_in_a_cascade_refuses_the_whole_delete() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, json!("cascade"), "restrict").await;
    let author = server
        .create_record("authors", Some(&admin), json!({"name": "ann"}))
        .await;
    let post = server
        .create_record("posts", Some(&admin), json!({"author": author["id"]}))
        .await;
    let comment = server
        .create_record("comments", Some(&admin), json!({"post": post["id"]}))
        .await;
    let like = server
        .create_record("likes", Some(&admin), json!({"comment": comment["id"]}))
        .await;
    let before = last_seq(&server).await;
    let response = server
        .delete(
            &record_path("authors", author["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    let error = assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        error["details"]["referenced_by"],
        json!(["likes.comment"]),
        "{error}"
    );
    for (collection, record) in [
        ("authors", &author),
        ("posts", &post),
        ("comments", &comment),
        ("likes", &like),
    ] {
        assert!(
            exists(&server, collection, record, &admin).await,
            "{collection} was deleted"
        );
    }
    assert_eq!(last_seq(&server).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_whose_cascades_could_loop_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    collection(
        &server,
        &admin,
        "a",
        json!([{"name": "x", "type": "string"}]),
    )
    .await;
    collection(
        &server,
        &admin,
        "b",
        json!([{"name": "a", "type": "relation", "collection": "a", "on_delete": "cascade"}]),
    )
    .await;
    // a.b → b with cascade closes the loop a → b → a.
    let (status, body) = server
        .patch(
            "/api/collections/a",
            Some(&admin),
            json!({"schema": {"fields": [
                {"name": "x", "type": "string"},
                {"name": "b", "type": "relation", "collection": "b", "on_delete": "cascade"},
            ]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = field_errors(&body)["schema.fields[1].on_delete"]
        .as_str()
        .unwrap();
    assert!(message.contains("b → a → b"), "{message}");
    // The same relation with set_null or restrict is fine.
    server
        .patch_collection(
            &admin,
            "a",
            json!({"schema": {"fields": [
                {"name": "x", "type": "string"},
                {"name": "b", "type": "relation", "collection": "b", "on_delete": "set_null"},
            ]}}),
        )
        .await;

    for (fields, key, needle) in [
        (
            json!([{"name": "parent", "type": "relation", "collection": "c", "on_delete": "cascade"}]),
            "schema.fields[0].on_delete",
            "would loop",
        ),
        (
            json!([{"name": "a", "type": "relation", "collection": "a", "on_delete": "set_null", "required": true}]),
            "schema.fields[0].on_delete",
            "required",
        ),
        (
            json!([{"name": "t", "type": "string", "on_delete": "cascade"}]),
            "schema.fields[0].on_delete",
            "relation",
        ),
        (
            json!([{"name": "a", "type": "relation", "collection": "a", "on_delete": "sometimes"}]),
            "",
            "",
        ),
    ] {
        let (status, body) = server
            .post(
                "/api/collections",
                Some(&admin),
                json!({"name": "c", "schema": {"fields": fields}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields}: {body}");
        if !key.is_empty() {
            let message = field_errors(&body)[key].as_str().unwrap();
            assert!(message.contains(needle), "{message}");
        }
    }
    let (status, _) = server.get("/api/collections/c", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
