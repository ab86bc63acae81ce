//! `POST /api/collections/check-rule` over real HTTP: one rule checked as the admin types
//! it, against unsaved fields or an existing collection, giving the verdict and message a
//! save would give, and storing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::field_errors;
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CHECK: &str = "/api/collections/check-rule";

struct World {
    server: TestServer,
    admin: String,
    user: String,
}

/// The fields of `posts`.
fn posts_schema() -> Value {
    json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "published", "type": "boolean"},
        {"name": "tag", "type": "relation", "collection": "tags"},
    ]})
}

impl World {
    /// A server with `tags` (label) and `posts` (title, published, tag → tags).
    async fn new() -> Self {
        let server = TestServer::start().await;
        let admin = server.admin_token().await;
        let (user, _) = server.register("ann@example.com", "ann-password").await;
        server
            .create_collection(
                &admin,
                json!({"name": "tags", "schema": {"fields": [{"name": "label", "type": "string"}]}}),
            )
            .await;
        server
            .create_collection(&admin, json!({"name": "posts", "schema": posts_schema()}))
            .await;
        Self {
            server,
            admin,
            user,
        }
    }

    async fn check_as(&self, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.server.post(CHECK, token, body).await
    }

    /// The 200 verdict on `body`, checked as the admin.
    async fn verdict(&self, body: Value) -> Value {
        let (status, answer) = self.check_as(Some(&self.admin), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_rules_and_keywords_pass() {
    let world = World::new().await;
    for kind in ["list", "view", "create", "update", "delete"] {
        let rule = "(published = true || owner_id = @request.auth.id) && tag.label != 'secret' \
                    && @collection.tags.label = 'open'";
        let answer = world
            .verdict(json!({"rule": rule, "kind": kind, "collection": "posts"}))
            .await;
        assert_eq!(answer, json!({"ok": true}), "{kind}");
        let answer = world
            .verdict(json!({"rule": rule, "kind": kind, "schema": posts_schema()}))
            .await;
        assert_eq!(answer, json!({"ok": true}), "{kind}");
        // Keywords need no fields at all, but are fine with them too.
        for keyword in ["public", "auth", "owner", "admin"] {
            for fields in [
                json!({}),
                json!({"collection": "posts"}),
                json!({"schema": {"fields": []}}),
            ] {
                let mut body = json!({"rule": keyword, "kind": kind});
                body.as_object_mut()
                    .unwrap()
                    .extend(fields.as_object().unwrap().clone());
                assert_eq!(world.verdict(body).await, json!({"ok": true}), "{keyword}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_say_what_and_where() {
    let world = World::new().await;
    let refused = |answer: &Value| -> (String, u64) {
        assert_eq!(answer["ok"], false, "{answer}");
        assert_eq!(answer.as_object().unwrap().len(), 3, "{answer}");
        (
            answer["message"].as_str().unwrap().to_owned(),
            answer["position"].as_u64().unwrap(),
        )
    };

    let answer = world
        .verdict(json!({"rule": "published = true && ratng >= 3", "kind": "list", "collection": "posts"}))
        .await;
    let (message, position) = refused(&answer);
    assert!(message.contains("unknown field `ratng`"), "{message}");
    assert_eq!(position, 20, "{message}");

    let answer = world
        .verdict(
            json!({"rule": "@collection.nope.label = 'x'", "kind": "view", "collection": "posts"}),
        )
        .await;
    let (message, _) = refused(&answer);
    assert!(message.contains("nope"), "{message}");

    let answer = world
        .verdict(json!({"rule": "title = 'x' && (published = true", "kind": "list", "collection": "posts"}))
        .await;
    let (message, position) = refused(&answer);
    // The unclosed parenthesis, where the text opens it.
    assert_eq!(position, 15, "{message}");
    assert!(message.contains("unclosed `(` at position 15"), "{message}");

    // `@request.body` belongs to create and update rules only.
    let body_rule = "@request.body.title != 'x'";
    for kind in ["list", "view", "delete"] {
        let answer = world
            .verdict(json!({"rule": body_rule, "kind": kind, "collection": "posts"}))
            .await;
        let (message, _) = refused(&answer);
        assert!(message.contains("@request.body"), "{kind}: {message}");
    }
    for kind in ["create", "update"] {
        let answer = world
            .verdict(json!({"rule": body_rule, "kind": kind, "collection": "posts"}))
            .await;
        assert_eq!(answer, json!({"ok": true}), "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsaved_fields_count_and_nothing_is_stored() {
    let world = World::new().await;
    let mut schema = posts_schema();
    schema["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "rating", "type": "int"}));
    let rule = "rating >= 3";
    let answer = world
        .verdict(json!({"rule": rule, "kind": "list", "schema": schema}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    // The saved collection has no such field yet.
    let answer = world
        .verdict(json!({"rule": rule, "kind": "list", "collection": "posts"}))
        .await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `rating`"),
        "{answer}"
    );
    // The field's type is the unsaved one too.
    let answer = world
        .verdict(json!({"rule": "rating ~ 'x'", "kind": "list", "schema": schema}))
        .await;
    assert_eq!(answer["ok"], false, "{answer}");

    let (_, stored) = world
        .server
        .get("/api/collections/posts", Some(&world.admin))
        .await;
    assert_eq!(stored["schema"], posts_schema());
    assert_eq!(stored["options"]["list_rule"], "public");
    let (_, all) = world
        .server
        .get("/api/collections", Some(&world.admin))
        .await;
    assert_eq!(all["total_items"], 2, "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_check_and_malformed_requests() {
    let world = World::new().await;
    let good = json!({"rule": "title = 'x'", "kind": "list", "collection": "posts"});
    assert_status_error(
        &world.check_as(Some(&world.user), good.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_status_error(
        &world.check_as(None, good.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_status_error(
        &world
            .check_as(None, json!({"rule": "public", "kind": "list"}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    let admin = Some(world.admin.as_str());
    for (body, field) in [
        (
            json!({"rule": "title = 'x'", "kind": "lst", "collection": "posts"}),
            "kind",
        ),
        (
            json!({"rule": "public", "kind": "list_rule", "collection": "posts"}),
            "kind",
        ),
        (
            json!({"rule": "title = 'x'", "collection": "posts"}),
            "kind",
        ),
        (json!({"kind": "list", "collection": "posts"}), "rule"),
        (
            json!({"rule": "title = 'x'", "kind": "list", "collection": "posts", "extra": 1}),
            "extra",
        ),
        (
            json!({"rule": "title = 'x'", "kind": "list", "collection": "posts",
                   "schema": posts_schema()}),
            "collection",
        ),
        (
            json!({"rule": "public", "kind": "list", "collection": "posts",
                   "schema": posts_schema()}),
            "collection",
        ),
        (json!({"rule": "title = 'x'", "kind": "list"}), "schema"),
        (
            json!({"rule": "title = 'x'", "kind": "list",
                   "schema": {"fields": [{"name": "title", "type": "strng"}]}}),
            "schema",
        ),
    ] {
        let answer = world.check_as(admin, body.clone()).await;
        assert_status_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let fields = field_errors(&answer.1);
        assert!(
            fields.keys().any(|key| key.starts_with(field)),
            "{body}: {}",
            answer.1
        );
    }
    // A schema the save would refuse (a relation to nothing) has no verdict either.
    let bad_schema = json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "author", "type": "relation", "collection": "nobody"},
    ]});
    let answer = world
        .check_as(
            admin,
            json!({"rule": "title = 'x'", "kind": "list", "schema": bad_schema}),
        )
        .await;
    assert_status_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, saved) = world
        .server
        .post(
            "/api/collections",
            admin,
            json!({"name": "drafts", "schema": bad_schema}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{saved}");

    assert_status_error(
        &world
            .check_as(
                admin,
                json!({"rule": "title = 'x'", "kind": "list", "collection": "nope"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // The route does not hide the collection routes beside it.
    let (status, body) = world.server.get("/api/collections/posts", admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The check and the save agree on every rule: same verdict, same message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_agrees_with_the_save() {
    let world = World::new().await;
    let server = &world.server;
    let admin = Some(world.admin.as_str());
    let rules = [
        "published = true",
        "published = 'yes'",
        "ratng > 1",
        "title ~ 'a' &&",
        "tag.label = 'x'",
        "tag.nope = 'x'",
        "title.label = 'x'",
        "@collection.tags.label = @request.auth.email",
        "@collection.tags.nope = 1",
        "@collection.missing.label = 1",
        "@request.body.title = 'x'",
        "@request.body.nope = 'x'",
        "@request.auth.is_admin ~ 'x'",
        "owner_id = @request.auth.id",
        "",
        "public",
        "owner",
        // The collection being saved, by its own name (`{self}`).
        "@collection.{self}.title = 'x'",
        "@collection.{self}.nope = 'x'",
    ];
    let mut disagreements = Vec::new();
    let mut refusals = 0;
    for (n, rule) in rules.into_iter().enumerate() {
        for kind in ["list", "view", "create", "update", "delete"] {
            let option = format!("{kind}_rule");
            // A new collection saved with the rule, against the fields in the form.
            let name = format!("c{n}_{kind}");
            let rule = rule.replace("{self}", &name);
            let rule = rule.as_str();
            let (status, saved) = server
                .post(
                    "/api/collections",
                    admin,
                    json!({"name": name, "schema": posts_schema(), "options": {&option: rule}}),
                )
                .await;
            let expected = match status {
                StatusCode::CREATED => json!({"ok": true}),
                StatusCode::UNPROCESSABLE_ENTITY => {
                    refusals += 1;
                    field_errors(&saved)[&format!("options.{option}")].clone()
                }
                other => panic!("{rule}: {other} {saved}"),
            };
            let answer = world
                .verdict(
                    json!({"rule": rule, "kind": kind, "schema": posts_schema(), "name": name}),
                )
                .await;
            let got = if answer["ok"] == true {
                answer.clone()
            } else {
                answer["message"].clone()
            };
            if got != expected {
                disagreements.push(format!("new {kind} `{rule}`: save {expected}, check {got}"));
            }

            // An existing collection changed to the rule, against its saved fields.
            let rule = rule.replace(&name, "posts");
            let rule = rule.as_str();
            let (status, changed) = server
                .patch(
                    "/api/collections/posts",
                    admin,
                    json!({"options": {&option: rule}}),
                )
                .await;
            let expected = match status {
                StatusCode::OK => json!({"ok": true}),
                StatusCode::UNPROCESSABLE_ENTITY => {
                    field_errors(&changed)[&format!("options.{option}")].clone()
                }
                other => panic!("{rule}: {other} {changed}"),
            };
            let answer = world
                .verdict(json!({"rule": rule, "kind": kind, "collection": "posts"}))
                .await;
            let got = if answer["ok"] == true {
                answer.clone()
            } else {
                answer["message"].clone()
            };
            if got != expected {
                disagreements.push(format!(
                    "posts {kind} `{rule}`: save {expected}, check {got}"
                ));
            }
            // Back to the defaults, so every rule is compared on the same collection.
            server
                .patch_collection(&world.admin, "posts", json!({"options": {}}))
                .await;
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // The comparison covered refusals, not only rules both accept.
    assert!(refusals > 20, "{refusals}");
}

/// With `name`, the collection being edited is itself as edited: a relation to itself and
/// `@collection.<its name>` see the fields in the form, as the save does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_schema_is_the_collection_as_edited() {
    let world = World::new().await;
    let server = &world.server;
    let admin = Some(world.admin.as_str());

    // A new collection whose field points at itself.
    let categories = json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "parent", "type": "relation", "collection": "categories"},
    ]});
    let rule = "parent.title != 'hidden' && @collection.categories.title = 'root'";
    let answer = world
        .verdict(json!({"rule": rule, "kind": "list", "schema": categories, "name": "categories"}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    // Unnamed, the relation points at nothing yet: no verdict.
    let answer = world
        .check_as(
            admin,
            json!({"rule": rule, "kind": "list", "schema": categories}),
        )
        .await;
    assert_status_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    server
        .create_collection(
            &world.admin,
            json!({"name": "categories", "schema": categories, "options": {"list_rule": rule}}),
        )
        .await;

    // An existing collection with a field added in the form.
    let mut schema = posts_schema();
    schema["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "rating", "type": "int"}));
    let rule = "@collection.posts.rating > 3";
    let answer = world
        .verdict(json!({"rule": rule, "kind": "view", "schema": schema, "name": "posts"}))
        .await;
    assert_eq!(answer, json!({"ok": true}));
    let answer = world
        .verdict(json!({"rule": rule, "kind": "view", "schema": schema}))
        .await;
    assert_eq!(answer["ok"], false, "{answer}");
    server
        .patch_collection(
            &world.admin,
            "posts",
            json!({"schema": schema, "options": {"view_rule": rule}}),
        )
        .await;

    for (body, field) in [
        (
            json!({"rule": rule, "kind": "view", "schema": schema, "name": "Posts"}),
            "name",
        ),
        (
            json!({"rule": rule, "kind": "view", "collection": "posts", "name": "posts"}),
            "name",
        ),
    ] {
        let answer = world.check_as(admin, body.clone()).await;
        assert_status_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(
            field_errors(&answer.1).contains_key(field),
            "{body}: {}",
            answer.1
        );
    }
}
