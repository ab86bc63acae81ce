//! Rule expressions over real HTTP: `@request.auth.*`, `@request.body.*`, relation paths
//! and `@collection`, applied inside list queries (pages and totals hold only what the
//! caller may see), to single records (hidden means 404) and to creates (403); bad rules
//! refused when a collection is saved, naming the rule.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{field_errors, item_values, record_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct World {
    server: TestServer,
    admin: String,
    ann: String,
    ann_id: String,
    bob: String,
    bob_id: String,
}

impl World {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let admin = server.admin_token().await;
        let (ann, ann_user) = server.register("ann@example.com", "ann-password").await;
        let (bob, bob_user) = server.register("bob@example.com", "bob-password").await;
        Self {
            ann_id: ann_user["id"].as_str().unwrap().to_owned(),
            bob_id: bob_user["id"].as_str().unwrap().to_owned(),
            server,
            admin,
            ann,
            bob,
        }
    }

    /// `posts` (title, published) with `options`.
    async fn posts(&self, options: Value) {
        self.server
            .create_collection(
                &self.admin,
                json!({"name": "posts", "options": options, "schema": {"fields": [
                    {"name": "title", "type": "string"},
                    {"name": "published", "type": "boolean"},
                ]}}),
            )
            .await;
    }

    async fn titles(&self, collection: &str, token: Option<&str>) -> (Vec<Value>, Value) {
        let list = self
            .server
            .list_ok(collection, token, &[("sort", "title")])
            .await;
        (item_values(&list, "title"), list["total_items"].clone())
    }
}

const PUBLISHED_OR_MINE: &str = "published = true || owner_id = @request.auth.id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_and_its_total_hold_only_what_each_caller_may_see() {
    let world = World::new().await;
    world
        .posts(json!({"list_rule": PUBLISHED_OR_MINE, "view_rule": PUBLISHED_OR_MINE}))
        .await;
    let server = &world.server;
    for (token, title, published) in [
        (&world.ann, "a-draft", false),
        (&world.ann, "a-public", true),
        (&world.bob, "b-draft", false),
        (&world.bob, "b-draft-2", false),
    ] {
        server
            .create_record(
                "posts",
                Some(token),
                json!({"title": title, "published": published}),
            )
            .await;
    }
    // Asked in turn, so a total remembered for one caller would show up as another's.
    for _ in 0..2 {
        assert_eq!(
            world.titles("posts", None).await,
            (vec![json!("a-public")], json!(1))
        );
        assert_eq!(
            world.titles("posts", Some(&world.ann)).await,
            (vec![json!("a-draft"), json!("a-public")], json!(2))
        );
        assert_eq!(
            world.titles("posts", Some(&world.bob)).await,
            (
                vec![json!("a-public"), json!("b-draft"), json!("b-draft-2")],
                json!(3)
            )
        );
        assert_eq!(world.titles("posts", Some(&world.admin)).await.1, json!(4));
    }
    // A filter narrows what the rule lets through; it never widens it.
    let list = server
        .list_ok(
            "posts",
            Some(&world.ann),
            &[("filter", "published = false")],
        )
        .await;
    assert_eq!(item_values(&list, "title"), vec![json!("a-draft")]);
    assert_eq!(list["total_items"], 1);
    let list = server
        .list_ok("posts", Some(&world.ann), &[("per_page", "1")])
        .await;
    assert_eq!(list["total_pages"], 2);
    // skip_total: the same page, no count.
    let list = server
        .list_ok(
            "posts",
            Some(&world.bob),
            &[("sort", "title"), ("skip_total", "true")],
        )
        .await;
    assert_eq!(
        item_values(&list, "title"),
        vec![json!("a-public"), json!("b-draft"), json!("b-draft-2")]
    );
    assert_eq!(
        (&list["total_items"], &list["total_pages"]),
        (&Value::Null, &Value::Null)
    );
    let response = server
        .list_records("posts", None, &[("skip_total", "maybe")])
        .await;
    assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_caller_may_not_view_is_not_found_for_every_action() {
    let world = World::new().await;
    world
        .posts(json!({
            "view_rule": "owner_id = @request.auth.id",
            "update_rule": "auth",
            "delete_rule": "auth",
        }))
        .await;
    let server = &world.server;
    let record = server
        .create_record("posts", Some(&world.ann), json!({"title": "ann's"}))
        .await;
    let path = record_path("posts", record["id"].as_str().unwrap());

    for token in [None, Some(world.bob.as_str())] {
        let response = server.get(&path, token).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    let response = server
        .patch(&path, Some(&world.bob), json!({"title": "bob's now"}))
        .await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.delete(&path, Some(&world.bob)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");

    // Nothing changed, and the owner (and an admin) still see and change it.
    let (status, seen) = server.get(&path, Some(&world.ann)).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["data"]["title"], "ann's");
    let (status, _) = server.get(&path, Some(&world.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, changed) = server
        .patch(&path, Some(&world.ann), json!({"title": "still ann's"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, _) = server.delete(&path, Some(&world.ann)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_rules_hide_what_they_refuse() {
    let world = World::new().await;
    world
        .posts(json!({
            "update_rule": "published = false && @request.body.published != true",
            "delete_rule": "owner_id = @request.auth.id && published = false",
        }))
        .await;
    let server = &world.server;
    let draft = server
        .create_record(
            "posts",
            Some(&world.ann),
            json!({"title": "d", "published": false}),
        )
        .await;
    let path = record_path("posts", draft["id"].as_str().unwrap());
    // The body may not publish it.
    let response = server
        .patch(&path, Some(&world.bob), json!({"published": true}))
        .await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let (status, changed) = server
        .patch(&path, Some(&world.bob), json!({"title": "edited"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    // Bob may not delete Ann's draft; Ann may.
    let response = server.delete(&path, Some(&world.bob)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let (status, seen) = server.get(&path, None).await;
    assert_eq!(
        (status, &seen["data"]["title"]),
        (StatusCode::OK, &json!("edited"))
    );
    let (status, _) = server.delete(&path, Some(&world.ann)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_rule_sees_the_caller_and_the_body() {
    let world = World::new().await;
    world
        .posts(json!({
            "create_rule":
                "@request.auth.id != '' && @request.body.title != 'spam' && @request.auth.email ~ '@example.com'",
        }))
        .await;
    let server = &world.server;
    let response = server
        .post(
            "/api/collections/posts/records",
            None,
            json!({"title": "hi"}),
        )
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    let response = server
        .post(
            "/api/collections/posts/records",
            Some(&world.ann),
            json!({"title": "spam"}),
        )
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    // Bad data is still a 422 first.
    let response = server
        .post(
            "/api/collections/posts/records",
            Some(&world.ann),
            json!({"title": 3}),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let record = server
        .create_record("posts", Some(&world.ann), json!({"title": "hello"}))
        .await;
    assert_eq!(record["owner_id"], world.ann_id.as_str());
    assert_eq!(world.titles("posts", Some(&world.admin)).await.1, json!(1));
}

/// `@request.auth.email_verified` lets only users who confirmed their email through, and
/// follows the account: once an admin marks Ann verified, the same token sees more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_can_ask_for_a_verified_email() {
    let world = World::new().await;
    world
        .posts(json!({
            "list_rule": "published = true || @request.auth.email_verified = true",
            "create_rule": "@request.auth.email_verified = true",
        }))
        .await;
    let server = &world.server;
    for (title, published) in [("a", true), ("b", false)] {
        server
            .create_record(
                "posts",
                Some(&world.admin),
                json!({"title": title, "published": published}),
            )
            .await;
    }
    let (titles, total) = world.titles("posts", Some(&world.ann)).await;
    assert_eq!((titles, total), (vec![json!("a")], json!(1)));
    let (titles, _) = world.titles("posts", None).await;
    assert_eq!(titles, vec![json!("a")]);
    let response = server
        .post(
            "/api/collections/posts/records",
            Some(&world.ann),
            json!({"title": "c"}),
        )
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");

    let (status, body) = server
        .patch(
            &format!("/api/admin/users/{}", world.ann_id),
            Some(&world.admin),
            json!({"email_verified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (titles, total) = world.titles("posts", Some(&world.ann)).await;
    assert_eq!((titles, total), (vec![json!("a"), json!("b")], json!(2)));
    server
        .create_record("posts", Some(&world.ann), json!({"title": "c"}))
        .await;
    // Bob, still unverified, sees only what is published.
    let (titles, total) = world.titles("posts", Some(&world.bob)).await;
    assert_eq!((titles, total), (vec![json!("a")], json!(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relation_paths_and_other_collections_decide_in_the_query() {
    let world = World::new().await;
    let server = &world.server;
    server
        .create_collection(
            &world.admin,
            json!({"name": "teams", "options": {"list_rule": "admin", "view_rule": "auth"},
            "schema": {"fields": [
                {"name": "name", "type": "string"},
                {"name": "lead", "type": "string"},
            ]}}),
        )
        .await;
    server
        .create_collection(
            &world.admin,
            json!({"name": "members", "options": {"list_rule": "admin"},
                   "schema": {"fields": [{"name": "user", "type": "string"}]}}),
        )
        .await;
    server
        .create_collection(
            &world.admin,
            json!({"name": "notes",
            "options": {
                "list_rule": "team.lead = @request.auth.email",
                "view_rule": "team.lead = @request.auth.email",
                "create_rule": "@collection.members.user = @request.auth.id",
            },
            "schema": {"fields": [
                {"name": "title", "type": "string"},
                {"name": "team", "type": "relation", "collection": "teams"},
            ]}}),
        )
        .await;
    let team = server
        .create_record(
            "teams",
            Some(&world.admin),
            json!({"name": "red", "lead": "ann@example.com"}),
        )
        .await;
    let team_id = team["id"].as_str().unwrap();
    // Nobody is a member yet: nobody may create.
    let response = server
        .post(
            "/api/collections/notes/records",
            Some(&world.bob),
            json!({"title": "x"}),
        )
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    server
        .create_record("members", Some(&world.admin), json!({"user": world.bob_id}))
        .await;
    let note = server
        .create_record(
            "notes",
            Some(&world.bob),
            json!({"title": "plan", "team": team_id}),
        )
        .await;
    server
        .create_record("notes", Some(&world.bob), json!({"title": "teamless"}))
        .await;
    let response = server
        .post(
            "/api/collections/notes/records",
            Some(&world.ann),
            json!({"title": "x"}),
        )
        .await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");

    // Ann leads the note's team, so she sees it; Bob wrote it but leads nothing.
    assert_eq!(
        world.titles("notes", Some(&world.ann)).await,
        (vec![json!("plan")], json!(1))
    );
    assert_eq!(
        world.titles("notes", Some(&world.bob)).await,
        (vec![], json!(0))
    );
    let path = record_path("notes", note["id"].as_str().unwrap());
    let (status, _) = server.get(&path, Some(&world.ann)).await;
    assert_eq!(status, StatusCode::OK);
    let response = server.get(&path, Some(&world.bob)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");

    // The team's lead changes: the rule follows the related record.
    let (status, _) = server
        .patch(
            &record_path("teams", team_id),
            Some(&world.admin),
            json!({"lead": "bob@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.titles("notes", Some(&world.ann)).await.1, json!(0));
    assert_eq!(world.titles("notes", Some(&world.bob)).await.1, json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_are_refused_when_saved_naming_the_rule() {
    let world = World::new().await;
    let server = &world.server;
    server
        .create_collection(
            &world.admin,
            json!({"name": "tags", "schema": {"fields": [{"name": "label", "type": "string"}]}}),
        )
        .await;
    let schema = json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "rating", "type": "int"},
        {"name": "tag", "type": "relation", "collection": "tags"},
    ]});
    for (option, rule, needle) in [
        ("list_rule", "titel = 'x'", "unknown field `titel`"),
        ("view_rule", "rating = @request.auth.id", "needs a number"),
        (
            "list_rule",
            "@request.body.title = 'x'",
            "only available in create_rule",
        ),
        (
            "create_rule",
            "@request.body.nope = 1",
            "unknown field `nope`",
        ),
        ("list_rule", "@request.auth.name = 'x'", "unknown name"),
        (
            "list_rule",
            "@collection.nothing.x = 1",
            "unknown collection `nothing`",
        ),
        (
            "list_rule",
            "@collection.tags.nope = 1",
            "unknown field `nope`",
        ),
        ("list_rule", "title.label = 'x'", "not a relation field"),
        ("list_rule", "tag.nope = 'x'", "unknown field `nope`"),
        (
            "delete_rule",
            "title = 'x'; DROP TABLE records",
            "unexpected character",
        ),
        ("update_rule", "", "empty filter"),
        (
            "view_rule",
            "@request.auth.is_admin ~ 'x'",
            "does not apply",
        ),
    ] {
        let (status, body) = server
            .post(
                "/api/collections",
                Some(&world.admin),
                json!({"name": "posts", "schema": schema, "options": {option: rule}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rule}: {body}");
        let message = field_errors(&body)[&format!("options.{option}")]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(needle), "{rule}: {message}");
    }
    let (status, _) = server
        .get("/api/collections/posts", Some(&world.admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Good rules are stored as written; a bad change leaves them so.
    let rule = "tag.label = 'open' || @collection.tags.label = @request.auth.email";
    let created = server
        .create_collection(
            &world.admin,
            json!({"name": "posts", "schema": schema, "options": {"list_rule": rule}}),
        )
        .await;
    assert_eq!(created["options"]["list_rule"], rule);
    let (status, body) = server
        .patch(
            "/api/collections/posts",
            Some(&world.admin),
            json!({"options": {"list_rule": "rating ~ 1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        field_errors(&body).contains_key("options.list_rule"),
        "{body}"
    );
    // A schema change that breaks a rule is refused as well.
    let (status, body) = server
        .patch(
            "/api/collections/posts",
            Some(&world.admin),
            json!({"schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        field_errors(&body).contains_key("options.list_rule"),
        "{body}"
    );
    let (_, stored) = server
        .get("/api/collections/posts", Some(&world.admin))
        .await;
    assert_eq!(stored["options"]["list_rule"], rule);
    assert_eq!(stored["schema"], schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_values_never_become_sql() {
    let world = World::new().await;
    world
        .posts(json!({
            "list_rule": "title = @request.auth.email",
            "create_rule": "@request.body.title != '' && title = @request.body.title",
        }))
        .await;
    let server = &world.server;
    let sneaky = "x' OR 1=1 --";
    server
        .create_record("posts", Some(&world.ann), json!({"title": sneaky}))
        .await;
    server
        .create_record(
            "posts",
            Some(&world.ann),
            json!({"title": "ann@example.com"}),
        )
        .await;
    assert_eq!(
        world.titles("posts", Some(&world.ann)).await,
        (vec![json!("ann@example.com")], json!(1))
    );
    assert_eq!(world.titles("posts", Some(&world.bob)).await.1, json!(0));
    assert_eq!(world.titles("posts", None).await.1, json!(0));
    assert_eq!(world.titles("posts", Some(&world.admin)).await.1, json!(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relation_to_a_record_hidden_by_an_expression_is_refused() {
    let world = World::new().await;
    let server = &world.server;
    server
        .create_collection(
            &world.admin,
            json!({"name": "albums",
                   "options": {"view_rule": "owner_id = @request.auth.id"},
                   "schema": {"fields": [{"name": "name", "type": "string"}]}}),
        )
        .await;
    server
        .create_collection(
            &world.admin,
            json!({"name": "photos",
                   "schema": {"fields": [{"name": "album", "type": "relation", "collection": "albums"}]}}),
        )
        .await;
    let album = server
        .create_record("albums", Some(&world.ann), json!({"name": "ann's"}))
        .await;
    let body = json!({"album": album["id"]});
    let (status, refused) = server
        .post(
            "/api/collections/photos/records",
            Some(&world.bob),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(field_errors(&refused).contains_key("album"), "{refused}");
    server.create_record("photos", Some(&world.ann), body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_names_are_not_for_filters() {
    let world = World::new().await;
    world.posts(json!({})).await;
    for filter in [
        "owner_id = @request.auth.id",
        "title.x = 'a'",
        "@collection.posts.title = 'a'",
    ] {
        let response = world
            .server
            .list_records("posts", Some(&world.ann), &[("filter", filter)])
            .await;
        let error = assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("cannot be used in a filter"),
            "{error}"
        );
    }
}

/// Random rule strings, SQL-looking ones among them, saved as every rule over a seeded
/// database: each is stored or refused with 422, requests under it answer without a
/// server error, and no record changes unless a request under the rule changed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_rules_never_change_data_or_fail_the_server() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let world = World::new().await;
    world.posts(json!({"create_rule": "auth"})).await;
    let server = &world.server;
    for (token, title) in [
        (&world.ann, "a"),
        (&world.bob, "b'; DROP TABLE records; --"),
    ] {
        server
            .create_record(
                "posts",
                Some(token),
                json!({"title": title, "published": true}),
            )
            .await;
    }
    let select = |items: &[&'static str]| proptest::sample::select(items.to_vec());
    let comparison = (
        select(&[
            "title",
            "published",
            "owner_id",
            "id",
            "@request.auth.id",
            "@request.auth.email",
            "@request.auth.is_admin",
            "@collection.posts.title",
            "@request.body.title",
            "title.title",
        ]),
        select(&["=", "!=", "~", ">", "<="]),
        select(&[
            "'x'",
            "'a'",
            "\"'; DROP TABLE records; --\"",
            "true",
            "null",
            "3",
            "@request.auth.id",
            "owner_id",
            "'b\\' OR 1=1 --'",
        ]),
    )
        .prop_map(|(left, op, right)| format!("{left} {op} {right}"));
    let garbage = select(&[
        "OR 1=1", "--", ";", "/*", "\\'", "@", ".", "\u{0}", "(", ")",
    ]);
    let strategy = (
        proptest::collection::vec((comparison, proptest::bool::ANY), 1..4),
        proptest::option::weighted(0.25, (garbage, 0..40_usize)),
    )
        .prop_map(|(comparisons, garbage)| {
            let mut rule = String::new();
            for (i, (comparison, and)) in comparisons.into_iter().enumerate() {
                if i > 0 {
                    rule.push_str(if and { " && " } else { " || " });
                }
                rule.push_str(&comparison);
            }
            if let Some((piece, at)) = garbage {
                let at = rule.char_indices().nth(at).map_or(rule.len(), |(i, _)| i);
                rule.insert_str(at, piece);
            }
            rule
        });
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut stored = 0;
    for _ in 0..60 {
        let rule = strategy.new_tree(&mut runner).unwrap().current();
        let option = ["list_rule", "view_rule", "update_rule"][stored % 3];
        let (status, body) = server
            .patch(
                "/api/collections/posts",
                Some(&world.admin),
                json!({"options": {option: rule}}),
            )
            .await;
        match status {
            StatusCode::OK => stored += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert!(
                    field_errors(&body).contains_key(&format!("options.{option}")),
                    "{body}"
                );
                continue;
            }
            other => panic!("{rule:?}: {other} {body}"),
        }
        for token in [None, Some(world.ann.as_str()), Some(world.bob.as_str())] {
            let (status, list) = server.list_records("posts", token, &[]).await;
            assert!(!status.is_server_error(), "{rule:?}: {status} {list}");
        }
        let (_, all) = server.list_records("posts", Some(&world.admin), &[]).await;
        assert_eq!(all["total_items"], 2, "{rule:?}");
        for item in all["items"].as_array().unwrap() {
            let path = record_path("posts", item["id"].as_str().unwrap());
            let (status, body) = server.get(&path, Some(&world.bob)).await;
            assert!(!status.is_server_error(), "{rule:?}: {status} {body}");
        }
    }
    assert!(
        stored >= 5,
        "too few random rules were valid to be convincing: {stored}"
    );
    let (_, all) = server
        .list_records("posts", Some(&world.admin), &[("sort", "title")])
        .await;
    assert_eq!(
        item_values(&all, "title"),
        vec![json!("a"), json!("b'; DROP TABLE records; --")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_other_rules_depend_on_keep_what_the_rules_need() {
    let world = World::new().await;
    let server = &world.server;
    server
        .create_collection(
            &world.admin,
            json!({"name": "members", "schema": {"fields": [{"name": "user", "type": "string"}]}}),
        )
        .await;
    world
        .posts(json!({"list_rule": "@collection.members.user = @request.auth.id"}))
        .await;
    // Dropping the field the rule reads, or the collection, is refused.
    let (status, body) = server
        .patch(
            "/api/collections/members",
            Some(&world.admin),
            json!({"schema": {"fields": [{"name": "person", "type": "string"}]}}),
        )
        .await;
    let error = assert_status_error(&(status, body), StatusCode::CONFLICT, "conflict");
    assert_eq!(
        error["details"]["rules"],
        json!(["posts.options.list_rule"]),
        "{error}"
    );
    let response = server
        .delete("/api/collections/members", Some(&world.admin))
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    let (_, members) = server
        .get("/api/collections/members", Some(&world.admin))
        .await;
    assert_eq!(members["schema"]["fields"][0]["name"], "user");
    // Once the rule no longer needs it, it may go.
    server
        .patch_collection(
            &world.admin,
            "posts",
            json!({"options": {"list_rule": "auth"}}),
        )
        .await;
    let (status, _) = server
        .delete("/api/collections/members", Some(&world.admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
