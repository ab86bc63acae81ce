//! `list[relation]` fields over real HTTP: values are distinct ids of records the writer
//! may view; deleting a target is refused (`restrict`), takes the lists' records along
//! (`cascade`) or removes the id from the lists (`set_null`), in one transaction and in the
//! change log; `expand` follows lists both ways; filters test membership.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{field_errors, item_ids, query_string, record_path, records_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::changes::{self, ChangeAction};

/// Missing ids a well-formed list may hold.
const NOWHERE: &str = "0190f1a2-3b4c-7d8e-9f00-112233445566";

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

async fn last_seq(server: &TestServer) -> i64 {
    server
        .app
        .database()
        .read(|conn| changes::read_after(conn, 0, 100_000))
        .await
        .unwrap()
        .last()
        .map_or(0, |c| c.seq)
}

async fn log_after(server: &TestServer, seq: i64) -> Vec<(ChangeAction, String, String)> {
    server
        .app
        .database()
        .read(move |conn| changes::read_after(conn, seq, 1_000))
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.action, c.collection, c.record_id))
        .collect()
}

/// `tags` (each user sees only their own) ← `posts.tags` (list, at most 3, `on_delete`).
async fn setup(server: &TestServer, admin: &str, on_delete: &str) {
    server
        .create_collection(
            admin,
            json!({"name": "tags", "schema": {"fields": [{"name": "name", "type": "string"}]},
                   "options": {"list_rule": "owner", "view_rule": "owner", "create_rule": "auth",
                               "update_rule": "owner", "delete_rule": "owner"}}),
        )
        .await;
    server
        .create_collection(
            admin,
            json!({"name": "posts", "schema": {"fields": [
                    {"name": "title", "type": "string"},
                    {"name": "tags", "type": "list[relation]", "collection": "tags",
                     "max_length": 3, "on_delete": on_delete},
                  ]},
                  "options": {"list_rule": "auth", "view_rule": "auth", "create_rule": "auth",
                              "update_rule": "auth", "delete_rule": "auth"}}),
        )
        .await;
}

async fn tag(server: &TestServer, token: &str, name: &str) -> String {
    id(&server
        .create_record("tags", Some(token), json!({"name": name}))
        .await)
}

async fn post_data(server: &TestServer, post: &str, token: &str) -> Value {
    let (status, body) = server.get(&record_path("posts", post), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_holds_distinct_ids_of_records_the_writer_may_view() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    setup(&server, &admin, "restrict").await;
    let (ann, _) = server.register("ann@example.com", "password-1").await;
    let (bob, _) = server.register("bob@example.com", "password-1").await;
    let a = tag(&server, &ann, "a").await;
    let b = tag(&server, &ann, "b").await;
    let c = tag(&server, &ann, "c").await;
    let bobs = tag(&server, &bob, "bob's").await;

    // Stored in the order given, lower-cased.
    let post = server
        .create_record(
            "posts",
            Some(&ann),
            json!({"title": "t", "tags": [b, a.to_uppercase()]}),
        )
        .await;
    assert_eq!(post["data"]["tags"], json!([b, a]));
    let post = id(&post);
    let empty = server
        .create_record("posts", Some(&ann), json!({"title": "none", "tags": []}))
        .await;
    assert_eq!(empty["data"]["tags"], json!([]));

    let before_records = server.all_records_count().await;
    let message = "no record with this id in collection `tags`";
    for (tags, expected) in [
        (json!([a, NOWHERE]), format!("element 1: {message}")),
        // Another user's record reads exactly like a missing one.
        (json!([bobs, a]), format!("element 0: {message}")),
        (json!([a, b, a]), "element 2 repeats element 0".to_owned()),
        (
            json!([a, b, c, NOWHERE]),
            "must have at most 3 elements".to_owned(),
        ),
        (json!(a), "must be a list of record ids".to_owned()),
        (json!({"id": a}), "must be a list of record ids".to_owned()),
        (
            json!([a, 1]),
            "element 1 must be a record id (a UUID)".to_owned(),
        ),
        (
            json!(["tag-a"]),
            "element 0 must be a record id (a UUID)".to_owned(),
        ),
    ] {
        let (status, body) = server
            .post(
                &records_path("posts"),
                Some(&ann),
                json!({"title": "bad", "tags": tags}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{tags}: {body}");
        assert_eq!(
            field_errors(&body)["tags"],
            json!(expected),
            "{tags}: {body}"
        );

        let (status, body) = server
            .patch(
                &record_path("posts", &post),
                Some(&ann),
                json!({"tags": tags}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{tags}: {body}");
        assert_eq!(
            field_errors(&body)["tags"],
            json!(expected),
            "{tags}: {body}"
        );
    }
    assert_eq!(server.all_records_count().await, before_records);
    assert_eq!(post_data(&server, &post, &ann).await["tags"], json!([b, a]));

    // Bob may list his own tag but not Ann's.
    let (status, body) = server
        .post(
            &records_path("posts"),
            Some(&bob),
            json!({"tags": [bobs, c]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_errors(&body)["tags"],
        json!(format!("element 1: {message}"))
    );

    // A valid update replaces the whole list.
    let (status, body) = server
        .patch(
            &record_path("posts", &post),
            Some(&ann),
            json!({"tags": [c, a, b]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["tags"], json!([c, a, b]));

    // Membership filters: `tags = id` holds when the list holds the id.
    let filter = |tag: &str| query_string(&[("filter", &format!("tags = '{tag}'"))]);
    let (status, list) = server
        .get(
            &format!("{}{}", records_path("posts"), filter(&c)),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(item_ids(&list), vec![post.clone()]);
    let (_, list) = server
        .get(
            &format!("{}{}", records_path("posts"), filter(&bobs)),
            Some(&ann),
        )
        .await;
    assert!(item_ids(&list).is_empty(), "{list}");
    let (_, list) = server
        .get(
            &format!(
                "{}{}",
                records_path("posts"),
                query_string(&[("filter", &format!("tags != '{c}'"))])
            ),
            Some(&ann),
        )
        .await;
    assert_eq!(item_ids(&list), vec![id(&empty)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restrict_refuses_the_delete_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    setup(&server, &admin, "restrict").await;
    let a = tag(&server, &admin, "a").await;
    let b = tag(&server, &admin, "b").await;
    let post = id(&server
        .create_record("posts", Some(&admin), json!({"tags": [a, b]}))
        .await);
    let before = last_seq(&server).await;
    let response = server.delete(&record_path("tags", &b), Some(&admin)).await;
    let error = assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        error["details"]["referenced_by"],
        json!(["posts.tags"]),
        "{error}"
    );
    assert_eq!(
        post_data(&server, &post, &admin).await["tags"],
        json!([a, b])
    );
    let (status, _) = server.get(&record_path("tags", &b), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        last_seq(&server).await,
        before,
        "a refused delete logged a change"
    );

    // Once no list holds it, it goes.
    server
        .patch(
            &record_path("posts", &post),
            Some(&admin),
            json!({"tags": [a]}),
        )
        .await;
    let (status, _) = server.delete(&record_path("tags", &b), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_deletes_the_records_whose_list_holds_the_target() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    setup(&server, &admin, "cascade").await;
    let a = tag(&server, &admin, "a").await;
    let b = tag(&server, &admin, "b").await;
    let both = id(&server
        .create_record("posts", Some(&admin), json!({"tags": [a, b]}))
        .await);
    let only_a = id(&server
        .create_record("posts", Some(&admin), json!({"tags": [a]}))
        .await);
    let only_b = id(&server
        .create_record("posts", Some(&admin), json!({"tags": [b]}))
        .await);
    let before = last_seq(&server).await;
    let (status, _) = server.delete(&record_path("tags", &a), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (post, survives) in [(&both, false), (&only_a, false), (&only_b, true)] {
        let (status, _) = server.get(&record_path("posts", post), Some(&admin)).await;
        assert_eq!(status == StatusCode::OK, survives, "{post}");
    }
    assert_eq!(
        log_after(&server, before).await,
        vec![
            (ChangeAction::Delete, "posts".to_owned(), both),
            (ChangeAction::Delete, "posts".to_owned(), only_a),
            (ChangeAction::Delete, "tags".to_owned(), a),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_null_removes_the_id_from_each_list() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    setup(&server, &admin, "set_null").await;
    let a = tag(&server, &admin, "a").await;
    let b = tag(&server, &admin, "b").await;
    let c = tag(&server, &admin, "c").await;
    let first = id(&server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "1", "tags": [a, b, c]}),
        )
        .await);
    let second = id(&server
        .create_record("posts", Some(&admin), json!({"title": "2", "tags": [b]}))
        .await);
    let untouched = id(&server
        .create_record("posts", Some(&admin), json!({"title": "3", "tags": [c]}))
        .await);
    let before = last_seq(&server).await;
    let (status, _) = server.delete(&record_path("tags", &b), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        post_data(&server, &first, &admin).await,
        json!({"title": "1", "tags": [a, c]})
    );
    assert_eq!(
        post_data(&server, &second, &admin).await,
        json!({"title": "2", "tags": []})
    );
    assert_eq!(
        post_data(&server, &untouched, &admin).await,
        json!({"title": "3", "tags": [c]})
    );
    let log = server
        .app
        .database()
        .read(move |conn| changes::read_after(conn, before, 1_000))
        .await
        .unwrap();
    let entries: Vec<(ChangeAction, String, String)> = log
        .iter()
        .map(|c| (c.action, c.collection.clone(), c.record_id.clone()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (ChangeAction::Update, "posts".to_owned(), first),
            (ChangeAction::Update, "posts".to_owned(), second),
            (ChangeAction::Delete, "tags".to_owned(), b),
        ]
    );
    // The logged record is the record as it now is.
    let logged: Value = serde_json::from_str(&log[0].record).unwrap();
    assert_eq!(logged["data"]["tags"], json!([a, c]), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_follows_lists_forward_and_back() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    setup(&server, &admin, "restrict").await;
    let (ann, _) = server.register("ann@example.com", "password-1").await;
    let a = tag(&server, &ann, "a").await;
    let b = tag(&server, &ann, "b").await;
    let hidden = tag(&server, &admin, "hidden").await;
    // The admin may relate any tag; Ann may view only her own.
    let first = id(&server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "1", "tags": [b, hidden, a]}),
        )
        .await);
    let second = id(&server
        .create_record("posts", Some(&admin), json!({"title": "2", "tags": [a]}))
        .await);
    let none = id(&server
        .create_record("posts", Some(&admin), json!({"title": "3"}))
        .await);

    let query = query_string(&[("expand", "tags"), ("sort", "title")]);
    let (status, list) = server
        .get(&format!("{}{query}", records_path("posts")), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    let names = |record: &Value| -> Vec<String> {
        record["expand"]["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .map(|t| t["data"]["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // In the stored order, without the tag Ann may not view.
    assert_eq!(id(&items[0]), first);
    assert_eq!(names(&items[0]), ["b", "a"]);
    assert_eq!(items[0]["expand"]["tags"][0]["collection"], "tags");
    assert_eq!(names(&items[1]), ["a"]);
    assert_eq!(id(&items[2]), none);
    assert_eq!(items[2]["expand"], json!({}), "{}", items[2]);
    // The admin sees every tag.
    let (_, one) = server
        .get(
            &format!(
                "{}{}",
                record_path("posts", &first),
                query_string(&[("expand", "tags")])
            ),
            Some(&admin),
        )
        .await;
    let all: Vec<&str> = one["expand"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(all, [b.as_str(), hidden.as_str(), a.as_str()]);

    // Back: the posts whose list holds each tag, oldest first; a post holding two tags of
    // the page is under both.
    let query = query_string(&[("expand", "posts_via_tags"), ("sort", "name")]);
    let (status, list) = server
        .get(&format!("{}{query}", records_path("tags")), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let back = |tag: &Value| -> Vec<String> {
        tag["expand"]["posts_via_tags"]
            .as_array()
            .map(|posts| posts.iter().map(id).collect())
            .unwrap_or_default()
    };
    let items = list["items"].as_array().unwrap();
    assert_eq!(id(&items[0]), a);
    assert_eq!(back(&items[0]), [first.as_str(), second.as_str()]);
    assert_eq!(id(&items[1]), b);
    assert_eq!(back(&items[1]), [first.as_str()]);

    // A view rule that is an expression (naming `id`, as json_each's rows also have an
    // `id`) applies to the posts found through a list.
    server
        .patch_collection(
            &admin,
            "posts",
            json!({"options": {"view_rule": "id != '' && title = '2'"}}),
        )
        .await;
    let (status, list) = server
        .get(&format!("{}{query}", records_path("tags")), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(back(&items[0]), [second.as_str()]);
    assert_eq!(back(&items[1]), Vec::<String>::new());
    server
        .patch_collection(&admin, "posts", json!({"options": {"view_rule": "auth"}}))
        .await;

    // Nested: tags → posts → tags again.
    let (status, one) = server
        .get(
            &format!(
                "{}{}",
                record_path("tags", &b),
                query_string(&[("expand", "posts_via_tags.tags")])
            ),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        names(&one["expand"]["posts_via_tags"][0]),
        ["b", "a"],
        "{one}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_checks_cover_list_relations() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "a", "schema": {"fields": [{"name": "x", "type": "string"}]}}),
        )
        .await;
    server
        .create_collection(
            &admin,
            json!({"name": "b", "schema": {"fields": [
                {"name": "many", "type": "list[relation]", "collection": "a", "on_delete": "cascade"},
            ]}}),
        )
        .await;
    for (fields, key, needle) in [
        // a.back → b with cascade closes the loop a → b → a, through the list.
        (
            json!([{"name": "back", "type": "list[relation]", "collection": "b", "on_delete": "cascade"}]),
            "schema.fields[0].on_delete",
            "b → a → b",
        ),
        (
            json!([{"name": "back", "type": "list[relation]", "collection": "nope"}]),
            "schema.fields[0].collection",
            "no collection is named",
        ),
        (
            json!([{"name": "back", "type": "list[relation]"}]),
            "schema.fields[0].collection",
            "is required for list[relation] fields",
        ),
    ] {
        let (status, body) = server
            .patch(
                "/api/collections/a",
                Some(&admin),
                json!({"schema": {"fields": fields}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields}: {body}");
        let message = field_errors(&body)[key].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    // A relation path through a list is refused with a clear message.
    let (status, body) = server
        .patch(
            "/api/collections/b",
            Some(&admin),
            json!({"options": {"list_rule": "many.x = 'y'"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = field_errors(&body)["options.list_rule"].as_str().unwrap();
    assert!(
        message.contains("relation paths through a list are not supported"),
        "{message}"
    );
    // Membership in a rule is fine.
    server
        .patch_collection(
            &admin,
            "b",
            json!({"options": {"list_rule": format!("many = '{NOWHERE}'")}}),
        )
        .await;
    // OpenAPI: the value is an array of ids; the expanded value an array of records.
    let (_, doc) = server.get("/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["BData"]["properties"]["many"]["type"], "array",
        "{}",
        schemas["BData"]
    );
    assert_eq!(
        schemas["BData"]["properties"]["many"]["items"],
        json!({"type": "string", "format": "uuid"})
    );
    let expand = &schemas["BRecord"]["properties"]["expand"]["properties"];
    assert_eq!(
        expand["many"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/ARecord"}})
    );
    assert_eq!(
        schemas["ARecord"]["properties"]["expand"]["properties"]["b_via_many"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/BRecord"}})
    );
    // A collection a list points at cannot be deleted.
    let (status, body) = server.delete("/api/collections/a", Some(&admin)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}
