//! Collections declared in code, against a real server: the derive's collections exist at
//! start with the schema the struct describes, typed record operations in a function go
//! through the same rules, validation and hooks as HTTP, and the admin API refuses to edit
//! them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::TestServer;
use common::records::{record_path, records_path};
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tinybase::hooks::BeforeWrite;
use tinybase::{Context, Error, Relation, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, tinybase::Select)]
#[serde(rename_all = "snake_case")]
enum Status {
    Draft,
    Published,
}

/// Authors only admins create.
#[derive(Debug, Clone, Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "authors", create_rule = "admin")]
struct Author {
    #[field(min_length = 1)]
    name: String,
}

/// One of each supported field type.
#[derive(Debug, Clone, Serialize, Deserialize, tinybase::Collection)]
#[collection(
    name = "articles",
    label = "Articles",
    list_rule = "public",
    view_rule = "public",
    create_rule = "auth",
    update_rule = "owner",
    delete_rule = "owner",
    max_record_bytes = 65536
)]
struct Article {
    #[field(min_length = 1, max_length = 200)]
    title: String,
    #[field(type = "text", searchable)]
    body: Option<String>,
    #[field(unique, indexed, pattern = "^[a-z0-9-]+$")]
    slug: String,
    status: Status,
    #[field(min = 0, max = 5)]
    rating: Option<i64>,
    score: Option<f64>,
    pinned: Option<bool>,
    published_at: Option<DateTime<Utc>>,
    day: Option<NaiveDate>,
    #[field(max_length = 3)]
    tags: Option<Vec<String>>,
    #[field(on_delete = "set_null")]
    author: Option<Relation<Author>>,
    #[field(max_length = 2, on_delete = "set_null")]
    co_authors: Option<Vec<Relation<Author>>>,
    extra: Option<Value>,
    #[field(type = "email", default = "editor@example.com")]
    contact: Option<String>,
}

/// A before_create hook on the code-first collection: typed writes run it too.
#[tinybase::hook(collection = "articles", event = "before_create")]
fn refuse_spam(hook: &mut BeforeWrite<'_>) -> Result<()> {
    let title = hook.data().get("title").and_then(Value::as_str);
    if title.is_some_and(|t| t.contains("spam")) {
        return Err(Error::forbidden("no spam, please"));
    }
    Ok(())
}

#[derive(Deserialize, JsonSchema)]
struct WriteInput {
    title: String,
    slug: String,
}

#[derive(Serialize, JsonSchema)]
struct Written {
    id: String,
    owner_id: Option<String>,
    title: String,
    listed: u64,
    contact: Option<String>,
}

/// Creates an article as the caller, reads it back, lists, then changes its rating.
#[tinybase::function(auth = "public")]
async fn write_article(ctx: Context, input: WriteInput) -> Result<Written> {
    let articles = ctx.collection::<Article>();
    let created = articles
        .create(&Article {
            title: input.title,
            body: Some("Typed body".into()),
            slug: input.slug,
            status: Status::Draft,
            rating: Some(1),
            score: Some(0.5),
            pinned: None,
            published_at: Some(ctx.now()),
            day: NaiveDate::from_ymd_opt(2026, 12, 7),
            tags: Some(vec!["rust".into()]),
            author: None,
            co_authors: None,
            extra: Some(json!({"any": ["json"]})),
            contact: None,
        })
        .await?;
    let read = articles.get(&created.id).await?;
    assert_eq!(read.data.status, Status::Draft);
    let mut changed = read.data.clone();
    changed.rating = Some(4);
    changed.status = Status::Published;
    let updated = articles.update(&created.id, &changed).await?;
    let listed = articles
        .list(tinybase::collections::RecordQuery::default())
        .await?;
    Ok(Written {
        id: updated.id,
        owner_id: updated.owner_id,
        title: updated.data.title,
        listed: listed.total_items,
        contact: updated.data.contact,
    })
}

#[derive(Deserialize, JsonSchema)]
struct IdInput {
    id: String,
    rating: i64,
}

/// Changes an article's rating as the caller; deletes it when the rating is 0.
#[tinybase::function(auth = "public")]
async fn rate_article(ctx: Context, input: IdInput) -> Result<Option<i64>> {
    let articles = ctx.collection::<Article>();
    if input.rating == 0 {
        articles.delete(&input.id).await?;
        return Ok(None);
    }
    let updated = articles
        .patch(&input.id, json!({"rating": input.rating}))
        .await?;
    Ok(updated.data.rating)
}

fn schema_of(collection: &Value) -> Value {
    collection["schema"]["fields"].clone()
}

#[tokio::test]
async fn derived_collections_exist_at_start_with_the_declared_schema() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (status, articles) = server.get("/api/collections/articles", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{articles}");
    assert_eq!(articles["code_defined"], true);
    assert_eq!(articles["label"], "Articles");
    assert_eq!(
        articles["options"],
        json!({"list_rule": "public", "view_rule": "public", "create_rule": "auth",
               "update_rule": "owner", "delete_rule": "owner", "max_record_bytes": 65536})
    );
    assert_eq!(
        schema_of(&articles),
        json!([
            {"name": "title", "type": "string", "required": true, "min_length": 1, "max_length": 200},
            {"name": "body", "type": "text", "searchable": true},
            {"name": "slug", "type": "string", "required": true, "pattern": "^[a-z0-9-]+$",
             "unique": true, "indexed": true},
            {"name": "status", "type": "select", "required": true, "values": ["draft", "published"]},
            {"name": "rating", "type": "int", "min": 0, "max": 5},
            {"name": "score", "type": "float"},
            {"name": "pinned", "type": "boolean"},
            {"name": "published_at", "type": "datetime"},
            {"name": "day", "type": "date"},
            {"name": "tags", "type": "list[string]", "max_length": 3},
            {"name": "author", "type": "relation", "collection": "authors", "on_delete": "set_null"},
            {"name": "co_authors", "type": "list[relation]", "collection": "authors",
             "max_length": 2, "on_delete": "set_null"},
            {"name": "extra", "type": "json"},
            {"name": "contact", "type": "email", "default": "editor@example.com"},
        ])
    );
    // The relation target, declared too, was created first.
    let (status, authors) = server.get("/api/collections/authors", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(authors["code_defined"], true);
    assert_eq!(authors["options"]["create_rule"], "admin");

    // Over HTTP the collection is like any other, and in the API docs.
    let (status, created) = server
        .post(
            &records_path("articles"),
            Some(&admin),
            json!({"title": "Hi", "slug": "hi", "status": "published",
                   "body": "Ferris the crab"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Vec<Relation<Author>> is a list of author ids, in order, read back as typed relations.
    let mut ids = Vec::new();
    for name in ["Ada", "Grace"] {
        let (status, author) = server
            .post(
                &records_path("authors"),
                Some(&admin),
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{author}");
        ids.push(author["id"].as_str().unwrap().to_owned());
    }
    let (status, paired) = server
        .post(
            &records_path("articles"),
            Some(&admin),
            json!({"title": "Two", "slug": "two", "status": "draft",
                   "co_authors": [ids[1], ids[0]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paired}");
    let typed: Article = serde_json::from_value(paired["data"].clone()).unwrap();
    let co_authors = typed.co_authors.unwrap();
    assert_eq!(
        co_authors.iter().map(Relation::id).collect::<Vec<_>>(),
        [ids[1].as_str(), ids[0].as_str()]
    );
    let (status, refused) = server
        .post(
            &records_path("articles"),
            Some(&admin),
            json!({"title": "Three", "slug": "three", "status": "draft",
                   "co_authors": [ids[0], ids[1], ids[0]]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, found) = server
        .get(&format!("{}?search=crab", records_path("articles")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["id"], created["id"], "{found}");
    let (_, openapi) = server.get("/openapi.json", None).await;
    assert!(
        openapi["paths"]["/api/collections/articles/records"]["post"].is_object(),
        "articles missing from /openapi.json"
    );

    // A collection made at runtime is not code-defined.
    let (status, posts) = server
        .post("/api/collections", Some(&admin), json!({"name": "posts"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{posts}");
    assert_eq!(posts["code_defined"], false);
}

#[tokio::test]
async fn typed_records_in_a_function_follow_rules_validation_and_hooks() {
    let server = TestServer::start().await;
    let (alice, alice_user) = server.register("alice@example.com", "password-alice").await;
    let (bob, _) = server.register("bob@example.com", "password-bob").await;

    let (status, written) = server
        .post(
            "/api/functions/write_article",
            Some(&alice),
            json!({"title": "Typed", "slug": "typed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{written}");
    let id = written["id"].as_str().unwrap().to_owned();
    // Created as the caller, who owns it; the default applied.
    assert_eq!(written["owner_id"], alice_user["id"]);
    assert_eq!(written["listed"], 1);
    assert_eq!(written["contact"], "editor@example.com");
    let (_, stored) = server.get(&record_path("articles", &id), None).await;
    assert_eq!(stored["data"]["rating"], 4);
    assert_eq!(stored["data"]["status"], "published");
    assert_eq!(stored["data"]["day"], "2026-12-07");

    // Validation: an empty title is refused with the field named; nothing written.
    let (status, refused) = server
        .post(
            "/api/functions/write_article",
            Some(&alice),
            json!({"title": "", "slug": "empty"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["details"]["fields"]["title"].is_string(),
        "{refused}"
    );
    // A duplicate unique slug: 409.
    let (status, _) = server
        .post(
            "/api/functions/write_article",
            Some(&alice),
            json!({"title": "Again", "slug": "typed"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The hook refuses through the typed API as over HTTP.
    let (status, refused) = server
        .post(
            "/api/functions/write_article",
            Some(&alice),
            json!({"title": "spam spam", "slug": "spam"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["message"], "no spam, please");
    // Rules: anonymous callers may not create (create_rule = auth).
    let (status, _) = server
        .post(
            "/api/functions/write_article",
            None,
            json!({"title": "Anon", "slug": "anon"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = server.get(&records_path("articles"), None).await;
    assert_eq!(
        list["total_items"], 1,
        "only the first article exists: {list}"
    );

    // Bob is not the owner: his typed update and delete are refused, nothing changes.
    for rating in [2, 0] {
        let (status, body) = server
            .post(
                "/api/functions/rate_article",
                Some(&bob),
                json!({"id": id, "rating": rating}),
            )
            .await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{status} {body}"
        );
    }
    // A rating over the max is refused for the owner too.
    let (status, _) = server
        .post(
            "/api/functions/rate_article",
            Some(&alice),
            json!({"id": id, "rating": 9}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, stored) = server.get(&record_path("articles", &id), None).await;
    assert_eq!(stored["data"]["rating"], 4);
    // The owner may.
    let (status, rated) = server
        .post(
            "/api/functions/rate_article",
            Some(&alice),
            json!({"id": id, "rating": 5}),
        )
        .await;
    assert_eq!((status, rated), (StatusCode::OK, json!(5)));
    let (status, _) = server
        .post(
            "/api/functions/rate_article",
            Some(&alice),
            json!({"id": id, "rating": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.get(&record_path("articles", &id), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_api_refuses_to_edit_a_code_defined_collection() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, before) = server.get("/api/collections/articles", Some(&admin)).await;
    for body in [
        json!({"schema": {"fields": [{"name": "title", "type": "string"}]}}),
        json!({"options": {"list_rule": "admin"}}),
        json!({"label": "Renamed"}),
    ] {
        let (status, refused) = server
            .patch("/api/collections/articles", Some(&admin), body)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"]["code"], "defined_in_code");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("defined in code"),
            "{refused}"
        );
    }
    let (status, refused) = server
        .delete("/api/collections/articles", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "defined_in_code");
    let (_, after) = server.get("/api/collections/articles", Some(&admin)).await;
    assert_eq!(before, after);
    // Non-admins still get the usual 403 first, not a hint about the code.
    let (user, _) = server.register("carol@example.com", "password-carol").await;
    let (status, _) = server
        .patch(
            "/api/collections/articles",
            Some(&user),
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
