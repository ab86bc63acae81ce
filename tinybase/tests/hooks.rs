//! Rust hooks on record writes and account events, against a real server: `before_*`
//! hooks change or refuse writes inside the transaction, whichever way the write comes
//! in; `after_*` hooks run once per committed change, never for a refused one, and pick
//! up where they stopped after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::records::{record_path, records_path};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::hooks::{AuthEvent, BeforeWrite, HookContext, RecordChange};
use tinybase::{Context, Error, Result};

/// Fills `slug` from `title`; refuses titles saying "spam".
#[tinybase::hook(collection = "posts", event = "before_create")]
fn fill_slug(hook: &mut BeforeWrite<'_>) -> Result<()> {
    let title = hook
        .data()
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if title.to_lowercase().contains("spam") {
        return Err(Error::forbidden("posts about spam are not welcome here"));
    }
    if !hook.data().contains_key("slug") {
        hook.set("slug", slug(&title));
    }
    Ok(())
}

/// On update: a new title gets a new slug; the old one is read from the stored record
/// and through the transaction.
#[tinybase::hook(collection = "posts", event = "before_update")]
fn refresh_slug(hook: &mut BeforeWrite<'_>) -> Result<()> {
    let Some(title) = hook.data().get("title").and_then(Value::as_str) else {
        return Ok(());
    };
    let new_slug = slug(title);
    let old_title = hook.existing().expect("an update has a record").data["title"].clone();
    let id = hook.record_id().expect("an update has an id").to_owned();
    let stored: String = hook
        .conn()
        .query_row(
            "SELECT json_extract(data, '$.title') FROM records WHERE id = ?1",
            [&id],
            |row| row.get(0),
        )
        .map_err(Error::internal)?;
    assert_eq!(Value::String(stored), old_title);
    hook.set("slug", new_slug);
    hook.set("previous_title", old_title);
    Ok(())
}

/// Refuses to delete pinned posts.
#[tinybase::hook(collection = "posts", event = "before_delete")]
fn keep_pinned(hook: &mut BeforeWrite<'_>) -> Result<()> {
    if hook.data().get("pinned") == Some(&Value::Bool(true)) {
        return Err(Error::conflict(
            "pinned posts cannot be deleted; unpin first",
        ));
    }
    Ok(())
}

/// An async before-hook: waits on a Tokio timer, then stamps the record.
#[tinybase::hook(collection = "stamped", event = "before_create")]
async fn stamp(hook: &mut BeforeWrite<'_>) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    hook.set("stamp", "async");
    Ok(())
}

/// Runs over the 2 s budget.
#[tinybase::hook(collection = "slow", event = "before_create")]
fn dawdle(_hook: &mut BeforeWrite<'_>) -> Result<()> {
    std::thread::sleep(Duration::from_millis(2_300));
    Ok(())
}

/// Appends every created post to `post_log`, through the record service.
#[tinybase::hook(collection = "posts", event = "after_create")]
async fn log_post(ctx: HookContext, change: RecordChange) -> Result<()> {
    ctx.records()
        .create(
            "post_log",
            json!({"post": change.record_id, "seq": change.seq,
                   "slug": change.field("slug").cloned().unwrap_or(Value::Null)}),
        )
        .await?;
    Ok(())
}

/// Always fails: its failure must be visible to admins.
#[tinybase::hook(collection = "posts", event = "after_update")]
fn broken_after_update(_ctx: HookContext, _change: RecordChange) -> Result<()> {
    Err(Error::internal("the update hook is broken on purpose"))
}

/// Records every registration in `signups`.
#[tinybase::hook(event = "after_register")]
async fn welcome(ctx: HookContext, event: AuthEvent) -> Result<()> {
    ctx.records()
        .create("signups", json!({"email": event.user.email}))
        .await?;
    Ok(())
}

/// Writes through `ctx.records()`, the path functions and schedules take.
#[tinybase::function(auth = "auth")]
async fn post_from_function(ctx: Context, input: Value) -> Result<Value> {
    let record = ctx.records().create("posts", input).await?;
    Ok(json!(record))
}

fn slug(title: &str) -> String {
    title
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

async fn posts_server() -> (TestServer, String) {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for body in [
        json!({"name": "posts", "schema": {"fields": [
            {"name": "title", "type": "string", "required": true, "max_length": 100},
            {"name": "slug", "type": "string", "required": true, "unique": true,
             "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
            {"name": "previous_title", "type": "string"},
            {"name": "pinned", "type": "boolean"}]},
            "options": {"create_rule": "auth", "update_rule": "auth", "delete_rule": "auth",
                        "list_rule": "public", "view_rule": "public"}}),
        json!({"name": "post_log", "schema": {"fields": [
            {"name": "post", "type": "string", "required": true},
            {"name": "seq", "type": "int", "required": true},
            {"name": "slug", "type": "string"}]}}),
    ] {
        server.create_collection(&admin, body).await;
    }
    (server, admin)
}

async fn latest_seq(server: &TestServer) -> i64 {
    server
        .app
        .database()
        .read(tinybase::changes::latest_seq)
        .await
        .unwrap()
}

/// The changes to `collection` logged after `seq`.
async fn changes_to(
    server: &TestServer,
    collection: &str,
    seq: i64,
) -> Vec<tinybase::changes::Change> {
    let collection = collection.to_owned();
    server
        .app
        .database()
        .read(move |conn| tinybase::changes::read_after(conn, seq, 10_000))
        .await
        .unwrap()
        .into_iter()
        .filter(|change| change.collection == collection)
        .collect()
}

async fn list(server: &TestServer, token: &str, collection: &str) -> Vec<Value> {
    let (status, body) = server
        .get(
            &format!("{}?per_page=500", records_path(collection)),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn hook_status(server: &TestServer, admin: &str, name: &str) -> Value {
    let (status, body) = server.get("/api/admin/hooks", Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .find(|hook| hook["name"] == name)
        .unwrap_or_else(|| panic!("no hook {name} in {body}"))
        .clone()
}

/// Polls until `done` holds; fails after a generous minute (this is a wait for
/// background work, not a timing assertion).
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_before_create_hook_fills_data_and_a_refusal_reaches_the_client_with_nothing_written() {
    let (server, admin) = posts_server().await;
    let (user, _) = server.register("writer@example.com", "password-1").await;

    let created = server
        .create_record("posts", Some(&user), json!({"title": "Hello, Hooks World"}))
        .await;
    assert_eq!(created["data"]["slug"], "hello-hooks-world");

    // The hook's data is validated like the client's: a slug it leaves alone (given by
    // the client) still has to match the pattern.
    let (status, body) = server
        .post(
            &records_path("posts"),
            Some(&user),
            json!({"title": "Fine", "slug": "Not A Slug"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["details"]["fields"]["slug"].is_string(),
        "{body}"
    );

    let before = latest_seq(&server).await;
    let (status, body) = server
        .post(
            &records_path("posts"),
            Some(&user),
            json!({"title": "Cheap SPAM here"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        body["error"]["message"],
        "posts about spam are not welcome here"
    );
    assert!(
        changes_to(&server, "posts", before).await.is_empty(),
        "a refused write logs no change"
    );
    let titles: Vec<Value> = list(&server, &admin, "posts")
        .await
        .iter()
        .map(|r| r["data"]["title"].clone())
        .collect();
    assert_eq!(titles, [json!("Hello, Hooks World")]);

    // The same hook runs for writes from functions (and so schedules).
    let (status, body) = server
        .post(
            "/api/functions/post_from_function",
            Some(&user),
            json!({"title": "From A Function"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["slug"], "from-a-function");
    let (status, body) = server
        .post(
            "/api/functions/post_from_function",
            Some(&user),
            json!({"title": "spam again"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // One post logged since the refusal above: the one the function created.
    let logged = changes_to(&server, "posts", before).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].record.contains("From A Function"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_update_edits_the_patch_and_before_delete_can_refuse() {
    let (server, admin) = posts_server().await;
    let created = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "First Title", "pinned": true}),
        )
        .await;
    let id = created["id"].as_str().unwrap();

    let (status, body) = server
        .patch(
            &record_path("posts", id),
            Some(&admin),
            json!({"title": "Second Title"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["slug"], "second-title");
    assert_eq!(body["data"]["previous_title"], "First Title");
    let (_, stored) = server.get(&record_path("posts", id), Some(&admin)).await;
    assert_eq!(stored["data"]["slug"], "second-title");

    // A patch without a title is left alone by the hook.
    let (status, body) = server
        .patch(
            &record_path("posts", id),
            Some(&admin),
            json!({"pinned": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["slug"], "second-title");

    let before = latest_seq(&server).await;
    let (status, body) = server.delete(&record_path("posts", id), Some(&admin)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["error"]["message"],
        "pinned posts cannot be deleted; unpin first"
    );
    assert!(changes_to(&server, "posts", before).await.is_empty());
    let (status, _) = server.get(&record_path("posts", id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);

    server
        .patch(
            &record_path("posts", id),
            Some(&admin),
            json!({"pinned": false}),
        )
        .await;
    let (status, _) = server.delete(&record_path("posts", id), Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_before_hooks_run_and_a_hook_over_budget_fails_its_write() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for name in ["stamped", "slow"] {
        server
            .create_collection(
                &admin,
                json!({"name": name, "schema": {"fields": [
                    {"name": "title", "type": "string"},
                    {"name": "stamp", "type": "string"}]}}),
            )
            .await;
    }
    let created = server
        .create_record("stamped", Some(&admin), json!({"title": "x"}))
        .await;
    assert_eq!(created["data"]["stamp"], "async");

    let before = latest_seq(&server).await;
    let (status, body) = server
        .post(
            &records_path("slow"),
            Some(&admin),
            json!({"title": "late"}),
        )
        .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2000 ms budget"),
        "{body}"
    );
    assert!(changes_to(&server, "slow", before).await.is_empty());
    assert!(list(&server, &admin, "slow").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_create_runs_once_per_committed_write_and_failures_are_shown_to_admins() {
    let (server, admin) = posts_server().await;
    let (server, admin) = (&server, admin.as_str());
    let mut ids = Vec::new();
    for title in ["One", "Two", "Three"] {
        let created = server
            .create_record("posts", Some(admin), json!({"title": title}))
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    // Refused, and a unique-slug clash: neither commits, neither reaches after_create.
    let (status, _) = server
        .post(
            &records_path("posts"),
            Some(admin),
            json!({"title": "spam"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .post(&records_path("posts"), Some(admin), json!({"title": "one"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    eventually("log_post to handle three posts", || async move {
        hook_status(server, admin, "log_post").await["runs"] == 3
    })
    .await;
    // Caught up with every change so far (its own post_log writes included): nothing
    // more can come for these writes.
    let latest = latest_seq(server).await;
    eventually("log_post to catch up", || async move {
        hook_status(server, admin, "log_post").await["seq"].as_i64() >= Some(latest - 3)
    })
    .await;
    let log = list(server, admin, "post_log").await;
    let mut logged: Vec<String> = log
        .iter()
        .map(|r| r["data"]["post"].as_str().unwrap().to_owned())
        .collect();
    logged.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(logged, expected, "one run per committed create: {log:?}");
    assert_eq!(log[0]["data"]["slug"], "one");

    // A failing after-hook is logged and shown with its error; the runner carries on.
    server
        .patch(
            &record_path("posts", &ids[0]),
            Some(admin),
            json!({"title": "Uno"}),
        )
        .await;
    eventually("the broken hook to fail", || async move {
        hook_status(server, admin, "broken_after_update").await["failures"] == 1
    })
    .await;
    let broken = hook_status(server, admin, "broken_after_update").await;
    assert_eq!(broken["event"], "after_update");
    assert_eq!(broken["collection"], "posts");
    assert_eq!(broken["last_error"], "the update hook is broken on purpose");
    assert!(
        broken["location"]
            .as_str()
            .unwrap()
            .starts_with("tinybase/tests/hooks.rs:")
    );
    assert!(broken["last_error_at"].is_string());

    let before = hook_status(server, admin, "fill_slug").await;
    assert_eq!(before["event"], "before_create");
    assert_eq!(before["collection_exists"], true);
    assert_eq!(before["seq"], Value::Null);
    let stamp = hook_status(server, admin, "stamp").await;
    assert_eq!(stamp["collection_exists"], false);

    // Only admins see hooks.
    let (user, _) = server.register("nosy@example.com", "password-1").await;
    let (status, _) = server.get("/api/admin/hooks", Some(&user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.get("/api/admin/hooks", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_register_runs_for_a_new_account() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (server, admin) = (&server, admin.as_str());
    server
        .create_collection(
            admin,
            json!({"name": "signups", "schema": {"fields": [
                {"name": "email", "type": "email", "required": true}]}}),
        )
        .await;
    server.register("new@example.com", "password-1").await;
    eventually("the signup to be recorded", || async move {
        !list(server, admin, "signups").await.is_empty()
    })
    .await;
    let signups = list(server, admin, "signups").await;
    assert_eq!(signups.len(), 1);
    assert_eq!(signups[0]["data"]["email"], "new@example.com");
}

/// A server over `dir`'s database, serving until `stop` is sent.
async fn serve_in(
    dir: &std::path::Path,
) -> (
    tinybase::Tinybase,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<()>>,
) {
    let mut settings = tinybase::config::Settings::default();
    settings.database.url = dir.join("hooks.db").display().to_string();
    let app = tinybase::App::new(settings).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    (app, stop, serving)
}

async fn logged_posts(app: &tinybase::Tinybase) -> Vec<String> {
    let page = app
        .collections()
        .list_records(
            &tinybase::collections::Caller::system(),
            "post_log",
            tinybase::collections::RecordQuery {
                per_page: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut posts: Vec<String> = page
        .items
        .iter()
        .map(|r| r.data["post"].as_str().unwrap().to_owned())
        .collect();
    posts.sort();
    posts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_hooks_resume_after_a_restart_without_losing_or_repeating_changes() {
    let dir = tempfile::tempdir().unwrap();
    let system = tinybase::collections::Caller::system();
    let mut settings = tinybase::config::Settings::default();
    settings.database.url = dir.path().join("hooks.db").display().to_string();

    // Writes while no server runs the after-hooks (as when a process dies right after
    // committing them).
    let offline = tinybase::App::new(settings).build().await.unwrap();
    for body in [
        json!({"name": "posts", "schema": {"fields": [
            {"name": "title", "type": "string", "required": true},
            {"name": "slug", "type": "string", "required": true},
            {"name": "previous_title", "type": "string"},
            {"name": "pinned", "type": "boolean"}]}}),
        json!({"name": "post_log", "schema": {"fields": [
            {"name": "post", "type": "string", "required": true},
            {"name": "seq", "type": "int", "required": true},
            {"name": "slug", "type": "string"}]}}),
    ] {
        offline
            .collections()
            .create_collection(&system, serde_json::from_value(body).unwrap())
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for title in ["a", "b", "c"] {
        let mut data = serde_json::Map::new();
        data.insert("title".into(), json!(title));
        let record = offline
            .collections()
            .create_record(&system, "posts", data)
            .await
            .unwrap();
        ids.push(record.id);
    }
    drop(offline);

    let (app, stop, serving) = serve_in(dir.path()).await;
    let app_ref = &app;
    eventually("the backlog to be handled", || async move {
        logged_posts(app_ref).await.len() >= 3
    })
    .await;
    let mut data = serde_json::Map::new();
    data.insert("title".into(), json!("d"));
    ids.push(
        app.collections()
            .create_record(&system, "posts", data)
            .await
            .unwrap()
            .id,
    );
    eventually("the new post to be handled", || async move {
        logged_posts(app_ref).await.len() >= 4
    })
    .await;
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    drop(app);

    // A second start finds nothing left to do: the progress was saved.
    let (app, stop, serving) = serve_in(dir.path()).await;
    let mut data = serde_json::Map::new();
    data.insert("title".into(), json!("e"));
    ids.push(
        app.collections()
            .create_record(&system, "posts", data)
            .await
            .unwrap()
            .id,
    );
    let app_ref = &app;
    eventually("the last post to be handled", || async move {
        logged_posts(app_ref).await.len() >= 5
    })
    .await;
    ids.sort();
    assert_eq!(logged_posts(&app).await, ids);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
