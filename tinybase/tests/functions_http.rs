//! The functions API over real HTTP: discovering functions, calling them, the call
//! history for admins, and their OpenAPI documentation.
//!
//! The function registry is global to a test binary: it holds exactly the functions
//! defined below, and every server started here serves all of them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use common::records::{
    assert_page, assert_record_shape, encode, field_error_keys, record_path, records_path,
};
use common::{TestServer, assert_error, assert_status_error, timestamp};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tinybase::collections::Record;
use tinybase::functions::{Context, Trigger};
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Error, Result};

// ---------------------------------------------------------------------------------------
// The functions under test.
// ---------------------------------------------------------------------------------------

/// What to echo.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct EchoInput {
    /// The text to repeat.
    text: String,
    /// How many times.
    times: u32,
}

/// The echoed text.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct EchoOutput {
    echoed: String,
    length: usize,
}

/// Repeats a text a number of times.
#[tinybase::function(auth = "public", tags = ["demo", "text"])]
async fn echo(_ctx: Context, input: EchoInput) -> Result<EchoOutput> {
    let echoed = input.text.repeat(input.times as usize);
    Ok(EchoOutput {
        length: echoed.chars().count(),
        echoed,
    })
}

/// Who is calling, as the function sees it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Whoami {
    user_id: Option<String>,
    is_admin: bool,
    function_name: String,
    trigger: Trigger,
    call_id: String,
    request_id: Option<String>,
}

/// Tells signed-in callers who they are.
#[tinybase::function(auth = "auth", tags = ["session"])]
async fn whoami(ctx: Context) -> Result<Whoami> {
    Ok(Whoami {
        user_id: ctx.user_id().map(str::to_owned),
        is_admin: ctx.is_admin(),
        function_name: ctx.function_name().to_owned(),
        trigger: ctx.trigger(),
        call_id: ctx.call_id().to_owned(),
        request_id: ctx.request_id().map(str::to_owned),
    })
}

/// A report for admins.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct AdminReport {
    /// Users in the database.
    users: i64,
}

/// Counts the users; admins only.
#[tinybase::function(auth = "admin")]
async fn admin_report(ctx: Context) -> Result<AdminReport> {
    let users = ctx
        .db()
        .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
        .await?;
    Ok(AdminReport { users })
}

/// Two factors.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct MulInput {
    a: i64,
    b: i64,
}

/// A product.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Product {
    product: i64,
}

/// Multiplies two numbers on the blocking pool.
#[tinybase::function(auth = "public", tags = ["math"])]
fn multiply(_ctx: Context, MulInput { a, b }: MulInput) -> Result<Product> {
    // `block_on` panics on an async worker thread: this proves a plain `fn` runs on the
    // blocking pool.
    let one = tokio::runtime::Handle::current().block_on(async { 1 });
    Ok(Product {
        product: a * b * one,
    })
}

/// Always panics.
#[tinybase::function(auth = "public")]
async fn explode(_ctx: Context) -> Result<()> {
    panic!("kaboom: panic detail")
}

/// Sleeps far longer than its own one-second timeout.
#[tinybase::function(auth = "public", timeout = 1)]
async fn sleepy(_ctx: Context) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(())
}

/// How long a function slept.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Slept {
    slept_ms: u64,
}

/// Sleeps three seconds; has no timeout of its own.
#[tinybase::function(auth = "public")]
async fn slow_default(_ctx: Context) -> Result<Slept> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(Slept { slept_ms: 3000 })
}

/// A name to reserve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct ReserveInput {
    name: String,
}

/// A reserved name.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Reserved {
    reserved: String,
}

/// Reserves a name: `taken` is taken and an empty name is invalid.
#[tinybase::function(auth = "public")]
async fn reserve(_ctx: Context, input: ReserveInput) -> Result<Reserved> {
    if input.name.is_empty() {
        return Err(Error::invalid_field("name", "must not be empty"));
    }
    if input.name == "taken" {
        return Err(Error::conflict("the name `taken` is already reserved"));
    }
    Ok(Reserved {
        reserved: input.name,
    })
}

/// Fails with an internal error whose cause must never reach a client.
#[tinybase::function(auth = "public")]
async fn fail_internal(_ctx: Context) -> Result<()> {
    Err(Error::internal("db exploded: secret detail"))
}

/// The data of a new note.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct NewNote {
    /// The record's fields, validated by the `notes` collection.
    data: Value,
}

/// Creates a note in the `notes` collection, acting as the caller.
#[tinybase::function(auth = "public", tags = ["notes"])]
async fn create_note(ctx: Context, input: NewNote) -> Result<Record> {
    ctx.records().create("notes", input.data).await
}

/// `(name, auth)` of every function above, sorted by name.
const ALL: &[(&str, &str)] = &[
    ("admin_report", "admin"),
    ("create_note", "public"),
    ("echo", "public"),
    ("explode", "public"),
    ("fail_internal", "public"),
    ("multiply", "public"),
    ("reserve", "public"),
    ("sleepy", "public"),
    ("slow_default", "public"),
    ("whoami", "auth"),
];

/// `(name, description)` of every function above: the first line of its doc comment.
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("admin_report", "Counts the users; admins only."),
    (
        "create_note",
        "Creates a note in the `notes` collection, acting as the caller.",
    ),
    ("echo", "Repeats a text a number of times."),
    ("explode", "Always panics."),
    (
        "fail_internal",
        "Fails with an internal error whose cause must never reach a client.",
    ),
    ("multiply", "Multiplies two numbers on the blocking pool."),
    (
        "reserve",
        "Reserves a name: `taken` is taken and an empty name is invalid.",
    ),
    (
        "sleepy",
        "Sleeps far longer than its own one-second timeout.",
    ),
    (
        "slow_default",
        "Sleeps three seconds; has no timeout of its own.",
    ),
    ("whoami", "Tells signed-in callers who they are."),
];

/// Functions that take no input.
const CTX_ONLY: &[&str] = &[
    "admin_report",
    "explode",
    "fail_internal",
    "sleepy",
    "slow_default",
    "whoami",
];

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

const CALL_ID_HEADER: &str = "x-function-call-id";

/// The answer to a function call.
#[derive(Debug)]
struct Called {
    status: StatusCode,
    body: Value,
    /// `x-function-call-id`.
    call_id: Option<String>,
    /// `x-request-id`.
    request_id: Option<String>,
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

async fn finish(response: reqwest::Response) -> Called {
    let call_id = header(&response, CALL_ID_HEADER);
    let request_id = header(&response, "x-request-id");
    let (status, body) = common::read(response).await;
    Called {
        status,
        body,
        call_id,
        request_id,
    }
}

/// `POST /api/functions/<name>` with an optional JSON body.
async fn call(server: &TestServer, name: &str, token: Option<&str>, body: Option<Value>) -> Called {
    let mut builder = server.request(Method::POST, &format!("/api/functions/{name}"), token);
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    finish(builder.send().await.expect("send call")).await
}

/// `POST /api/functions/<name>` with raw bytes and an optional content type.
async fn call_raw(
    server: &TestServer,
    name: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &'static str,
) -> Called {
    let mut builder = server
        .request(Method::POST, &format!("/api/functions/{name}"), token)
        .body(body);
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    finish(builder.send().await.expect("send call")).await
}

/// Asserts a successful call and returns its call id.
#[track_caller]
fn assert_ok(called: &Called, expected: &Value) -> String {
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    assert_eq!(&called.body, expected, "{called:?}");
    called
        .call_id
        .clone()
        .unwrap_or_else(|| panic!("no {CALL_ID_HEADER} header: {called:?}"))
}

/// Asserts a failed call with the envelope `code`; returns the error object.
#[track_caller]
fn assert_failed(called: &Called, status: StatusCode, code: &str) -> Value {
    assert_status_error(&(called.status, called.body.clone()), status, code)
}

/// Asserts that a request was refused before any call started.
#[track_caller]
fn assert_not_started(called: &Called, status: StatusCode, code: &str) -> Value {
    assert!(
        called.call_id.is_none(),
        "a refused request must not name a call: {called:?}"
    );
    assert_failed(called, status, code)
}

/// `GET /api/admin/functions/calls/<id>` as admin; panics unless 200.
async fn call_record(server: &TestServer, admin: &str, id: &str) -> Value {
    let (status, body) = server
        .get(&format!("/api/admin/functions/calls/{id}"), Some(admin))
        .await;
    assert_eq!(status, StatusCode::OK, "call {id}: {body}");
    assert_call_shape(&body);
    assert_eq!(body["id"], id, "{body}");
    body
}

/// Lists calls as admin with query pairs; panics unless 200. Returns the page.
async fn list_calls(server: &TestServer, admin: &str, query: &[(&str, &str)]) -> Value {
    let (status, body) = server.get(&calls_path(query), Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "list calls {query:?}: {body}");
    for item in body["items"].as_array().expect("items") {
        assert_call_shape(item);
    }
    body
}

fn calls_path(query: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if pairs.is_empty() {
        "/api/admin/functions/calls".to_owned()
    } else {
        format!("/api/admin/functions/calls?{}", pairs.join("&"))
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Asserts the exact shape of a call record and the invariants between its fields.
#[track_caller]
fn assert_call_shape(call: &Value) {
    let object = call
        .as_object()
        .unwrap_or_else(|| panic!("call is not an object: {call}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "duration_ms",
            "error_message",
            "error_type",
            "finished_at",
            "function_name",
            "id",
            "requested_by_user_id",
            "started_at",
            "status",
            "trigger_id",
            "trigger_type",
        ],
        "call keys: {call}"
    );
    let id = call["id"].as_str().expect("id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "id is not a UUID: {call}"
    );
    assert!(call["function_name"].is_string(), "{call}");
    let started = timestamp(&call["started_at"]);
    let created = timestamp(&call["created_at"]);
    assert!(created <= started + chrono::Duration::seconds(1), "{call}");
    match call["status"].as_str().expect("status") {
        "running" => {
            assert!(call["finished_at"].is_null(), "{call}");
            assert!(call["duration_ms"].is_null(), "{call}");
        }
        "succeeded" | "failed" => {
            let finished = timestamp(&call["finished_at"]);
            assert!(finished >= started, "{call}");
            assert!(
                call["duration_ms"].as_i64().expect("duration") >= 0,
                "{call}"
            );
        }
        other => panic!("unknown status {other}: {call}"),
    }
    if call["status"] == "failed" {
        assert!(call["error_type"].is_string(), "{call}");
        assert!(call["error_message"].is_string(), "{call}");
    } else {
        assert!(call["error_type"].is_null(), "{call}");
        assert!(call["error_message"].is_null(), "{call}");
    }
}

/// Asserts a finished call record: function, status, caller and error type.
#[track_caller]
fn assert_call(
    call: &Value,
    function: &str,
    status: &str,
    user_id: Option<&str>,
    error_type: Option<&str>,
) {
    assert_eq!(call["function_name"], function, "{call}");
    assert_eq!(call["status"], status, "{call}");
    assert_eq!(call["trigger_type"], "manual", "{call}");
    assert!(call["trigger_id"].is_null(), "{call}");
    assert_eq!(call["requested_by_user_id"], json!(user_id), "{call}");
    assert_eq!(call["error_type"], json!(error_type), "{call}");
}

/// How many rows `function_calls` holds.
async fn call_count(server: &TestServer) -> i64 {
    server
        .app
        .database()
        .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM function_calls", [], |r| r.get(0))?))
        .await
        .expect("count calls")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect()
}

fn names_with(filter: impl Fn(&str) -> bool) -> Vec<String> {
    ALL.iter()
        .filter(|(_, auth)| filter(auth))
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

fn auth_of(name: &str) -> &'static str {
    ALL.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, auth)| *auth)
        .unwrap_or_else(|| panic!("unknown function {name}"))
}

/// A standalone schema's own definition: follows a top-level `$ref` into its `$defs`,
/// asserting that the target exists.
#[track_caller]
fn resolve_local(schema: &Value) -> &Value {
    let Some(reference) = schema.get("$ref") else {
        return schema;
    };
    let name = reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .unwrap_or_else(|| panic!("$ref outside $defs: {schema}"));
    let target = &schema["$defs"][name];
    assert!(target.is_object(), "{name} is not in $defs: {schema}");
    target
}

/// Asserts the client view of one function.
#[track_caller]
fn assert_function_info(info: &Value, extra_keys: &[&str]) {
    let object = info
        .as_object()
        .unwrap_or_else(|| panic!("function is not an object: {info}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "auth",
        "description",
        "input_schema",
        "name",
        "output_schema",
        "tags",
    ];
    expected.extend_from_slice(extra_keys);
    expected.sort_unstable();
    assert_eq!(keys, expected, "function keys: {info}");
    let name = info["name"].as_str().expect("name");
    assert_eq!(info["auth"], auth_of(name), "{info}");
    let description = DESCRIPTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .expect("description");
    assert_eq!(info["description"], description, "{info}");
    assert!(
        info["output_schema"].is_object(),
        "output schema is not a JSON Schema object: {info}"
    );
    let output = resolve_local(&info["output_schema"]);
    assert!(output.is_object(), "output schema: {info}");
    if CTX_ONLY.contains(&name) {
        assert!(info["input_schema"].is_null(), "{info}");
    } else {
        let schema = resolve_local(&info["input_schema"]);
        assert_eq!(schema["type"], "object", "{info}");
        assert!(schema["properties"].is_object(), "{info}");
    }
    assert!(info["tags"].is_array(), "{info}");
}

// ---------------------------------------------------------------------------------------
// Discovery.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_what_the_caller_may_call() {
    let server = TestServer::start().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let admin = server.admin_token().await;

    let (status, anon) = server.get("/api/functions", None).await;
    assert_eq!(status, StatusCode::OK, "{anon}");
    assert_eq!(names(&anon), names_with(|auth| auth == "public"));

    let (status, signed_in) = server.get("/api/functions", Some(&user)).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(names(&signed_in), names_with(|auth| auth != "admin"));

    let (status, all) = server.get("/api/functions", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(names(&all), names_with(|_| true));

    for info in all.as_array().unwrap() {
        assert_function_info(info, &[]);
    }
    // Users see the same entries as admins, minus the admin-only ones.
    let admin_view: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["auth"] != "admin")
        .collect();
    let user_view: Vec<&Value> = signed_in.as_array().unwrap().iter().collect();
    assert_eq!(user_view, admin_view);

    let by_name = |name: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap()
    };
    let echo = by_name("echo");
    assert_eq!(echo["tags"], json!(["demo", "text"]), "{echo}");
    let echo_input = resolve_local(&echo["input_schema"]);
    let mut required: Vec<&str> = echo_input["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["text", "times"], "{echo}");
    assert_eq!(
        echo_input["properties"]["text"]["description"], "The text to repeat.",
        "{echo}"
    );
    assert!(
        resolve_local(&echo["output_schema"])["properties"]["echoed"].is_object(),
        "{echo}"
    );
    let whoami = by_name("whoami");
    assert!(whoami["input_schema"].is_null(), "{whoami}");
    assert_eq!(whoami["tags"], json!(["session"]), "{whoami}");
    assert!(
        resolve_local(&whoami["output_schema"])["properties"]["call_id"].is_object(),
        "{whoami}"
    );
    // Types the output refers to travel with the schema.
    let note = by_name("create_note");
    let record = resolve_local(&note["output_schema"]);
    assert!(record["properties"]["owner_id"].is_object(), "{note}");
    assert_eq!(by_name("admin_report")["tags"], json!([]));
}

// ---------------------------------------------------------------------------------------
// Calling.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_returns_the_output_and_names_its_record() {
    let server = TestServer::start().await;
    let (user, user_json) = server.register("user@example.com", "user-password").await;
    let user_id = user_json["id"].as_str().unwrap();
    let admin = server.admin_token().await;

    let before = Utc::now();
    let called = call(
        &server,
        "echo",
        None,
        Some(json!({"text": "ab", "times": 3})),
    )
    .await;
    let echo_id = assert_ok(&called, &json!({"echoed": "ababab", "length": 6}));
    let record = call_record(&server, &admin, &echo_id).await;
    assert_call(&record, "echo", "succeeded", None, None);
    let started = timestamp(&record["started_at"]);
    assert!(
        started >= before - chrono::Duration::seconds(1) && started <= Utc::now(),
        "{record}"
    );

    // The context carries the caller, the call id and the request id.
    let called = call(&server, "whoami", Some(&user), None).await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    let call_id = called.call_id.clone().expect("call id header");
    let request_id = called.request_id.clone().expect("request id header");
    assert_eq!(
        called.body,
        json!({
            "user_id": user_id,
            "is_admin": false,
            "function_name": "whoami",
            "trigger": "manual",
            "call_id": call_id,
            "request_id": request_id,
        }),
        "{called:?}"
    );
    let record = call_record(&server, &admin, &call_id).await;
    assert_call(&record, "whoami", "succeeded", Some(user_id), None);

    // A plain `fn` works the same way.
    let called = call(&server, "multiply", None, Some(json!({"a": 6, "b": -7}))).await;
    let id = assert_ok(&called, &json!({"product": -42}));
    let record = call_record(&server, &admin, &id).await;
    assert_call(&record, "multiply", "succeeded", None, None);

    // Every call has its own record.
    assert_ne!(echo_id, call_id);
    assert_eq!(call_count(&server).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_levels_are_enforced_before_the_call_starts() {
    let server = TestServer::start().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let admin = server.admin_token().await;

    for name in ["whoami", "admin_report"] {
        let called = call(&server, name, None, None).await;
        assert_not_started(&called, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // A bad token is no better than none.
    let called = call(&server, "whoami", Some("not-a-real-token"), None).await;
    assert_not_started(&called, StatusCode::UNAUTHORIZED, "unauthorized");

    let called = call(&server, "admin_report", Some(&user), None).await;
    assert_not_started(&called, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        call_count(&server).await,
        0,
        "refused calls are not recorded"
    );

    // Admins may call everything; users may call auth functions; anyone public ones.
    let called = call(&server, "admin_report", Some(&admin), None).await;
    assert_ok(&called, &json!({"users": 2}));
    let called = call(&server, "whoami", Some(&admin), None).await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    assert_eq!(called.body["is_admin"], true, "{called:?}");
    let called = call(&server, "whoami", Some(&user), None).await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    assert_eq!(called.body["is_admin"], false, "{called:?}");
    let called = call(
        &server,
        "multiply",
        Some(&user),
        Some(json!({"a": 2, "b": 3})),
    )
    .await;
    assert_ok(&called, &json!({"product": 6}));
    assert_eq!(call_count(&server).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_function_is_404() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for token in [None, Some(admin.as_str())] {
        let called = call(&server, "no_such_function", token, Some(json!({}))).await;
        let error = assert_not_started(&called, StatusCode::NOT_FOUND, "not_found");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("no_such_function"),
            "{error}"
        );
    }
    // GET on a function path is not a call.
    let (status, body) = server.get("/api/functions/echo", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_error(&body, "method_not_allowed");
    assert_eq!(call_count(&server).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_422_naming_the_field() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;

    let cases = [
        (json!({"text": 5, "times": 2}), "text"),
        (json!({"text": "a"}), "times"),
        (json!({"text": "a", "times": -1}), "times"),
        (json!({"text": "a", "times": 1, "extra": true}), "extra"),
        (json!(["a", 1]), "body"),
        (json!("text"), "body"),
    ];
    for (input, field) in cases {
        let called = call(&server, "echo", None, Some(input.clone())).await;
        assert_failed(
            &called,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            field_error_keys(&called.body),
            [field],
            "{input}: {called:?}"
        );
        // The call ran (and failed in decoding): it is in the history.
        let id = called.call_id.clone().expect("call id header");
        let record = call_record(&server, &admin, &id).await;
        assert_call(&record, "echo", "failed", None, Some("validation_failed"));
    }

    // A function without input refuses one.
    let called = call(&server, "fail_internal", None, Some(json!({"x": 1}))).await;
    assert_failed(
        &called,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&called.body), ["body"], "{called:?}");
    // A missing field of another input type.
    let called = call(&server, "create_note", None, Some(json!({}))).await;
    assert_failed(
        &called,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_error_keys(&called.body), ["data"], "{called:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_formats_are_checked_before_the_call_starts() {
    let server = TestServer::start().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let input = r#"{"text":"a","times":1}"#;

    let called = call_raw(&server, "echo", None, Some("application/json"), "{not json").await;
    let error = assert_not_started(&called, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{error}"
    );
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let called = call_raw(&server, "echo", None, content_type, input).await;
        assert_not_started(
            &called,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    // A caller allowed to call the function still needs a JSON body.
    let called = call_raw(&server, "whoami", Some(&user), Some("text/plain"), "hi").await;
    assert_not_started(
        &called,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(call_count(&server).await, 0, "nothing was called");

    // A JSON type with parameters, or a +json type, is JSON.
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let called = call_raw(&server, "echo", None, Some(content_type), input).await;
        assert_ok(&called, &json!({"echoed": "a", "length": 1}));
    }

    // No input for a function that takes none: no body, whitespace, `null` or `{}`.
    for (content_type, body) in [
        (None, ""),
        (Some("application/json"), ""),
        (Some("text/plain"), "  \n"),
        (Some("application/json"), "null"),
        (Some("application/json"), "{}"),
    ] {
        let called = call_raw(&server, "whoami", Some(&user), content_type, body).await;
        assert_eq!(
            called.status,
            StatusCode::OK,
            "{content_type:?} {body:?}: {called:?}"
        );
        assert_eq!(called.body["function_name"], "whoami", "{called:?}");
        assert_eq!(
            called.body["call_id"].as_str(),
            called.call_id.as_deref(),
            "{called:?}"
        );
    }
    assert_eq!(call_count(&server).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_functions_own_errors_keep_their_status_and_code() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;

    let called = call(&server, "reserve", None, Some(json!({"name": "taken"}))).await;
    let error = assert_failed(&called, StatusCode::CONFLICT, "conflict");
    assert_eq!(error["message"], "the name `taken` is already reserved");
    let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
    assert_call(&record, "reserve", "failed", None, Some("conflict"));
    assert_eq!(
        record["error_message"], "the name `taken` is already reserved",
        "{record}"
    );

    let called = call(&server, "reserve", None, Some(json!({"name": ""}))).await;
    let error = assert_failed(
        &called,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        error["details"],
        json!({"fields": {"name": "must not be empty"}}),
        "{error}"
    );
    let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
    assert_call(
        &record,
        "reserve",
        "failed",
        None,
        Some("validation_failed"),
    );
    assert_eq!(record["error_message"], "must not be empty", "{record}");

    let called = call(&server, "reserve", None, Some(json!({"name": "free"}))).await;
    assert_ok(&called, &json!({"reserved": "free"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_error_hides_its_cause_from_the_client_but_records_it() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let called = call(&server, "fail_internal", None, None).await;
    let error = assert_failed(&called, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert_eq!(error["message"], "internal server error", "{error}");
    let text = called.body.to_string();
    assert!(
        !text.contains("secret") && !text.contains("exploded"),
        "internals leaked: {text}"
    );
    let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
    assert_call(
        &record,
        "fail_internal",
        "failed",
        None,
        Some("internal_error"),
    );
    assert!(
        record["error_message"]
            .as_str()
            .unwrap()
            .contains("db exploded: secret detail"),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_500_a_failed_call_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for _ in 0..2 {
        let called = call(&server, "explode", None, None).await;
        let error = assert_failed(&called, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        assert_eq!(error["message"], "internal server error", "{error}");
        assert!(
            !called.body.to_string().contains("kaboom"),
            "panic message leaked: {called:?}"
        );
        let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
        assert_call(&record, "explode", "failed", None, Some("panic"));
        assert!(
            record["error_message"]
                .as_str()
                .unwrap()
                .contains("kaboom: panic detail"),
            "{record}"
        );
    }
    let called = call(
        &server,
        "echo",
        None,
        Some(json!({"text": "x", "times": 2})),
    )
    .await;
    assert_ok(&called, &json!({"echoed": "xx", "length": 2}));
    let (status, health) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_over_its_timeout_is_504() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let clock = Instant::now();
    let called = call(&server, "sleepy", None, None).await;
    let elapsed = clock.elapsed();
    let error = assert_failed(&called, StatusCode::GATEWAY_TIMEOUT, "timeout");
    assert!(
        error["message"].as_str().unwrap().contains("sleepy"),
        "{error}"
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "the timeout is one second, took {elapsed:?}"
    );
    let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
    assert_call(&record, "sleepy", "failed", None, Some("timeout"));
    let duration = record["duration_ms"].as_i64().unwrap();
    assert!((900..5000).contains(&duration), "{record}");
    // Still serving.
    let called = call(&server, "reserve", None, Some(json!({"name": "a"}))).await;
    assert_ok(&called, &json!({"reserved": "a"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_recorded_as_running_until_it_ends() {
    // No server-wide timeout: `slow_default` runs its full three seconds.
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let pending = tokio::spawn(
        server
            .request(Method::POST, "/api/functions/slow_default", None)
            .send(),
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    let running = loop {
        let page = list_calls(&server, &admin, &[("status", "running")]).await;
        if page["total_items"] == 1 {
            break page["items"][0].clone();
        }
        assert_page(&page, 1, 20, 0, 0);
        assert!(
            Instant::now() < deadline,
            "the call never showed as running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_call(&running, "slow_default", "running", None, None);
    assert!(running["finished_at"].is_null(), "{running}");

    let called = finish(pending.await.unwrap().expect("send call")).await;
    let id = assert_ok(&called, &json!({"slept_ms": 3000}));
    assert_eq!(running["id"], id);
    let record = call_record(&server, &admin, &id).await;
    assert_call(&record, "slow_default", "succeeded", None, None);
    assert_eq!(record["started_at"], running["started_at"], "{record}");
    let duration = record["duration_ms"].as_i64().unwrap();
    assert!((2900..6000).contains(&duration), "{record}");
    let page = list_calls(&server, &admin, &[("status", "running")]).await;
    assert_page(&page, 1, 20, 0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_wide_timeout_applies_to_functions_without_their_own() {
    let server = TestServer::start_with(|s| s.functions.timeout_seconds = 1).await;
    let admin = server.admin_token().await;
    let clock = Instant::now();
    let called = call(&server, "slow_default", None, None).await;
    let elapsed = clock.elapsed();
    assert_failed(&called, StatusCode::GATEWAY_TIMEOUT, "timeout");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2800),
        "the server timeout is one second, took {elapsed:?}"
    );
    let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
    assert_call(&record, "slow_default", "failed", None, Some("timeout"));
    // Fast functions are unaffected.
    let called = call(&server, "multiply", None, Some(json!({"a": 3, "b": 3}))).await;
    assert_ok(&called, &json!({"product": 9}));
    // (Without the setting, the same function finishes: see
    // `a_call_is_recorded_as_running_until_it_ends`.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_or_output_is_stored() {
    let server = TestServer::start().await;
    let marker = "payload-marker-7f3a";
    let called = call(
        &server,
        "echo",
        None,
        Some(json!({"text": marker, "times": 1})),
    )
    .await;
    assert_ok(
        &called,
        &json!({"echoed": marker, "length": marker.chars().count()}),
    );
    let called = call(&server, "reserve", None, Some(json!({"name": marker}))).await;
    assert_ok(&called, &json!({"reserved": marker}));

    let (columns, rows) = server
        .app
        .database()
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('function_calls')")?;
            let mut columns = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            columns.sort();
            let mut stmt = conn.prepare("SELECT * FROM function_calls")?;
            let count = stmt.column_count();
            let rows = stmt
                .query_map([], |row| {
                    (0..count)
                        .map(|i| {
                            Ok(match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<String>>>()
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((columns, rows))
        })
        .await
        .expect("read function_calls");
    assert_eq!(
        columns,
        [
            "created_at",
            "duration_ms",
            "error_message",
            "error_type",
            "finished_at",
            "function_name",
            "id",
            "requested_by_user_id",
            "started_at",
            "status",
            "trigger_id",
            "trigger_type",
        ],
        "function_calls has no payload columns"
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert!(
            row.iter().all(|value| !value.contains(marker)),
            "a payload was stored: {row:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Records from functions.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_created_by_a_function_get_the_same_validation_as_http() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (user, user_json) = server.register("user@example.com", "user-password").await;
    let user_id = user_json["id"].as_str().unwrap();
    let collection = server
        .create_collection(
            &admin,
            json!({"name": "notes", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true, "max_length": 10},
                {"name": "slug", "type": "string", "unique": true},
                {"name": "stars", "type": "int", "min": 0, "max": 5}
            ]}}),
        )
        .await;
    let collection_id = collection["id"].as_str().unwrap();

    // Success: the record belongs to the calling user.
    let called = call(
        &server,
        "create_note",
        Some(&user),
        Some(json!({"data": {"title": "hello", "slug": "first", "stars": 3}})),
    )
    .await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    assert!(called.call_id.is_some(), "{called:?}");
    assert_record_shape(&called.body, "notes", Some(user_id));
    assert_eq!(
        called.body["data"],
        json!({"title": "hello", "slug": "first", "stars": 3})
    );
    let id = called.body["id"].as_str().unwrap();
    let (status, fetched) = server.get(&record_path("notes", id), Some(&user)).await;
    assert_eq!(status, StatusCode::OK, "{fetched}");
    assert_eq!(fetched, called.body);
    let (owner, _, _, _) = server.raw_record(id).await.expect("stored row");
    assert_eq!(owner.as_deref(), Some(user_id));

    // Failures: the same status and envelope as the records endpoint, nothing stored.
    let cases = [
        // Every bad field at once.
        json!({"title": "far too long a title", "stars": 9, "unknown": 1}),
        json!({"stars": 1}),
        // A duplicate unique value.
        json!({"title": "again", "slug": "first"}),
        // Not an object.
        json!(["title"]),
    ];
    for data in cases {
        let called = call(
            &server,
            "create_note",
            Some(&user),
            Some(json!({ "data": data })),
        )
        .await;
        let (status, over_http) = server
            .post(&records_path("notes"), Some(&user), data.clone())
            .await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::CONFLICT,
            "{data}: {status} {over_http}"
        );
        assert_eq!(called.status, status, "{data}: {called:?} vs {over_http}");
        assert_eq!(called.body, over_http, "{data}");
        let record = call_record(&server, &admin, called.call_id.as_ref().unwrap()).await;
        let code = over_http["error"]["code"].as_str().unwrap();
        assert_call(&record, "create_note", "failed", Some(user_id), Some(code));
    }
    let bad = call(
        &server,
        "create_note",
        Some(&user),
        Some(json!({"data": {"title": "far too long a title", "stars": 9, "unknown": 1}})),
    )
    .await;
    assert_eq!(
        field_error_keys(&bad.body),
        ["stars", "title", "unknown"],
        "{bad:?}"
    );
    let dup = call(
        &server,
        "create_note",
        Some(&user),
        Some(json!({"data": {"title": "again", "slug": "first"}})),
    )
    .await;
    assert_failed(&dup, StatusCode::CONFLICT, "conflict");

    // The collection's rules apply to the caller: anonymous callers may not create.
    let called = call(
        &server,
        "create_note",
        None,
        Some(json!({"data": {"title": "anon"}})),
    )
    .await;
    let (status, over_http) = server
        .post(&records_path("notes"), None, json!({"title": "anon"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{over_http}");
    assert_failed(&called, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(called.body, over_http);

    assert_eq!(server.records_in(collection_id).await, 1);
}

// ---------------------------------------------------------------------------------------
// Admin: functions and the call history.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_every_function_with_its_source_and_timeout() {
    let server = TestServer::start().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let admin = server.admin_token().await;

    let (status, body) = server.get("/api/admin/functions", None).await;
    assert_status_error(&(status, body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = server.get("/api/admin/functions", Some(&user)).await;
    assert_status_error(&(status, body), StatusCode::FORBIDDEN, "forbidden");

    let (status, list) = server.get("/api/admin/functions", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(names(&list), names_with(|_| true));
    let source_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/functions_http.rs"
    ))
    .expect("read this file");
    let lines: Vec<&str> = source_text.lines().collect();
    let admin_keys = [
        "module_path",
        "module",
        "file_path",
        "source",
        "last_loaded_at",
        "timeout_seconds",
    ];
    for info in list.as_array().unwrap() {
        assert_function_info(info, &admin_keys);
        let name = info["name"].as_str().unwrap();
        assert_eq!(info["module_path"], "functions_http", "{info}");
        assert_eq!(info["module"], "functions_http", "{info}");
        let file_path = info["file_path"].as_str().expect("file_path");
        assert!(file_path.ends_with("functions_http.rs"), "{info}");
        assert_eq!(
            info["source"].as_str().unwrap().rsplit_once(':').unwrap().0,
            file_path
        );
        let loaded = timestamp(&info["last_loaded_at"]);
        assert!(loaded <= chrono::Utc::now(), "{info}");
        let source = info["source"].as_str().expect("source");
        let (file, line) = source.rsplit_once(':').expect("file:line");
        assert!(file.ends_with("functions_http.rs"), "{info}");
        let line: usize = line.parse().expect("line number");
        let defined = lines.get(line - 1).copied().unwrap_or_default();
        assert!(
            defined.contains(&format!("fn {name}(")),
            "{name}: line {line} is {defined:?}"
        );
        let timeout = if name == "sleepy" {
            json!(1)
        } else {
            Value::Null
        };
        assert_eq!(info["timeout_seconds"], timeout, "{info}");
    }

    // The client fields are exactly those of `GET /api/functions`.
    let (_, public_view) = server.get("/api/functions", Some(&admin)).await;
    let stripped: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|info| {
            let mut info = info.clone();
            let object = info.as_object_mut().unwrap();
            for key in admin_keys {
                object.remove(key);
            }
            info
        })
        .collect();
    assert_eq!(Value::Array(stripped), public_view);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_history_is_newest_first_paginated_and_filtered() {
    let server = TestServer::start().await;
    let (user, user_json) = server.register("user@example.com", "user-password").await;
    let user_id = user_json["id"].as_str().unwrap();
    let admin = server.admin_token().await;

    for path in ["/api/admin/functions/calls", "/api/admin/functions/calls/x"] {
        let (status, body) = server.get(path, None).await;
        assert_status_error(&(status, body), StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, body) = server.get(path, Some(&user)).await;
        assert_status_error(&(status, body), StatusCode::FORBIDDEN, "forbidden");
    }

    let empty = list_calls(&server, &admin, &[]).await;
    assert_page(&empty, 1, 20, 0, 0);

    // Three calls, then a mark in time, then two more.
    let mut ids = Vec::new();
    for text in ["a", "b"] {
        let called = call(
            &server,
            "echo",
            None,
            Some(json!({"text": text, "times": 1})),
        )
        .await;
        ids.push(assert_ok(&called, &json!({"echoed": text, "length": 1})));
    }
    let called = call(&server, "whoami", Some(&user), None).await;
    assert_eq!(called.status, StatusCode::OK, "{called:?}");
    ids.push(called.call_id.clone().unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mark = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let called = call(
        &server,
        "reserve",
        Some(&user),
        Some(json!({"name": "taken"})),
    )
    .await;
    assert_failed(&called, StatusCode::CONFLICT, "conflict");
    ids.push(called.call_id.clone().unwrap());
    let called = call(
        &server,
        "echo",
        Some(&admin),
        Some(json!({"text": "c", "times": 2})),
    )
    .await;
    ids.push(assert_ok(&called, &json!({"echoed": "cc", "length": 2})));
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    // Everything, newest first.
    let all = list_calls(&server, &admin, &[]).await;
    assert_page(&all, 1, 20, 5, 1);
    assert_eq!(ids_of(&all), newest_first);
    let items = all["items"].as_array().unwrap();
    assert_call(&items[4], "echo", "succeeded", None, None);
    assert_call(&items[2], "whoami", "succeeded", Some(user_id), None);
    assert_call(
        &items[1],
        "reserve",
        "failed",
        Some(user_id),
        Some("conflict"),
    );
    assert_eq!(items[0]["requested_by_user_id"], admin_id(&server).await);
    for pair in items.windows(2) {
        assert!(
            timestamp(&pair[0]["created_at"]) >= timestamp(&pair[1]["created_at"]),
            "{all}"
        );
    }

    // Pages.
    let page = list_calls(&server, &admin, &[("per_page", "2")]).await;
    assert_page(&page, 1, 2, 5, 3);
    assert_eq!(ids_of(&page), newest_first[..2]);
    let page = list_calls(&server, &admin, &[("per_page", "2"), ("page", "2")]).await;
    assert_page(&page, 2, 2, 5, 3);
    assert_eq!(ids_of(&page), newest_first[2..4]);
    let page = list_calls(&server, &admin, &[("per_page", "2"), ("page", "3")]).await;
    assert_page(&page, 3, 2, 5, 3);
    assert_eq!(ids_of(&page), newest_first[4..]);
    let page = list_calls(&server, &admin, &[("per_page", "100000")]).await;
    assert_page(&page, 1, 500, 5, 1);
    let page = list_calls(&server, &admin, &[("per_page", "2"), ("page", "4")]).await;
    assert_page(&page, 4, 2, 5, 3);
    assert!(ids_of(&page).is_empty());

    // Filters.
    let only = |indexes: &[usize]| -> Vec<String> {
        indexes.iter().rev().map(|&i| ids[i].clone()).collect()
    };
    let page = list_calls(&server, &admin, &[("function_name", "echo")]).await;
    assert_page(&page, 1, 20, 3, 1);
    assert_eq!(ids_of(&page), only(&[0, 1, 4]));
    let page = list_calls(&server, &admin, &[("function_name", "nothing")]).await;
    assert_page(&page, 1, 20, 0, 0);
    let page = list_calls(&server, &admin, &[("status", "failed")]).await;
    assert_page(&page, 1, 20, 1, 1);
    assert_eq!(ids_of(&page), only(&[3]));
    let page = list_calls(&server, &admin, &[("status", "succeeded")]).await;
    assert_eq!(ids_of(&page), only(&[0, 1, 2, 4]));
    let page = list_calls(&server, &admin, &[("status", "running")]).await;
    assert_page(&page, 1, 20, 0, 0);
    let page = list_calls(&server, &admin, &[("trigger_type", "manual")]).await;
    assert_page(&page, 1, 20, 5, 1);
    let page = list_calls(&server, &admin, &[("trigger_type", "schedule")]).await;
    assert_page(&page, 1, 20, 0, 0);
    let page = list_calls(
        &server,
        &admin,
        &[
            ("function_name", "echo"),
            ("status", "succeeded"),
            ("per_page", "1"),
        ],
    )
    .await;
    assert_page(&page, 1, 1, 3, 3);
    assert_eq!(ids_of(&page), only(&[4]));

    // Time windows.
    let mark_text = rfc3339(mark);
    let page = list_calls(&server, &admin, &[("since", &mark_text)]).await;
    assert_page(&page, 1, 20, 2, 1);
    assert_eq!(ids_of(&page), only(&[3, 4]));
    let page = list_calls(&server, &admin, &[("until", &mark_text)]).await;
    assert_page(&page, 1, 20, 3, 1);
    assert_eq!(ids_of(&page), only(&[0, 1, 2]));
    // An offset other than Z means the same instant.
    let offset_text = mark
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Micros, false);
    let page = list_calls(&server, &admin, &[("since", &offset_text)]).await;
    assert_eq!(ids_of(&page), only(&[3, 4]), "since={offset_text}");
    let future = rfc3339(Utc::now() + chrono::Duration::hours(1));
    let page = list_calls(&server, &admin, &[("since", &future)]).await;
    assert_page(&page, 1, 20, 0, 0);
    let past = rfc3339(Utc::now() - chrono::Duration::hours(1));
    let page = list_calls(&server, &admin, &[("until", &past)]).await;
    assert_page(&page, 1, 20, 0, 0);
    let page = list_calls(&server, &admin, &[("since", &past), ("until", &future)]).await;
    assert_page(&page, 1, 20, 5, 1);

    // Bad parameters are 400s in the envelope.
    for query in [
        [("status", "foo")],
        [("trigger_type", "cron")],
        [("since", "yesterday")],
        [("until", "2026-13-45T00:00:00Z")],
        [("per_page", "0")],
        [("page", "-1")],
    ] {
        let (status, body) = server.get(&calls_path(&query), Some(&admin)).await;
        assert_status_error(&(status, body), StatusCode::BAD_REQUEST, "bad_request");
    }
}

/// The admin's user id, from `/api/auth/me`.
async fn admin_id(server: &TestServer) -> Value {
    let admin = server.admin_token().await;
    let (status, me) = server.get("/api/auth/me", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_by_id() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let called = call(&server, "reserve", None, Some(json!({"name": "x"}))).await;
    let id = assert_ok(&called, &json!({"reserved": "x"}));
    let record = call_record(&server, &admin, &id).await;
    assert_call(&record, "reserve", "succeeded", None, None);
    let list = list_calls(&server, &admin, &[]).await;
    assert_eq!(list["items"][0], record, "the list and the item agree");

    for unknown in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let (status, body) = server
            .get(
                &format!("/api/admin/functions/calls/{unknown}"),
                Some(&admin),
            )
            .await;
        assert_status_error(&(status, body), StatusCode::NOT_FOUND, "not_found");
    }
}

// ---------------------------------------------------------------------------------------
// OpenAPI.
// ---------------------------------------------------------------------------------------

/// Follows a `$ref` into `components.schemas`, asserting that the target exists.
#[track_caller]
fn assert_ref_resolves(doc: &Value, schema: &Value, what: &str) -> Value {
    let reference = schema["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a $ref: {schema}"));
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("{what}: $ref outside components.schemas: {reference}"));
    let target = &doc["components"]["schemas"][name];
    assert!(
        target.is_object(),
        "{what}: {reference} does not exist in components.schemas"
    );
    target.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_function_with_its_types() {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");

    for (name, auth) in ALL {
        let path = format!("/api/functions/{name}");
        let item = &doc["paths"][&path];
        let op = &item["post"];
        assert!(op.is_object(), "{path} is not documented: {item}");
        let what = format!("POST {path}");

        let body = &op["requestBody"];
        if CTX_ONLY.contains(name) {
            assert!(body.is_null(), "{what}: no input, no body: {body}");
        } else {
            assert_eq!(body["required"], true, "{what}: {body}");
            let schema = &body["content"]["application/json"]["schema"];
            let target = assert_ref_resolves(&doc, schema, &what);
            assert_eq!(target["type"], "object", "{what}: {target}");
        }

        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(ok.is_object(), "{what}: no 200 schema: {op}");
        if ok.get("$ref").is_some() {
            assert_ref_resolves(&doc, ok, &what);
        }
        let default = &op["responses"]["default"]["content"]["application/json"]["schema"];
        let envelope = assert_ref_resolves(&doc, default, &what);
        assert!(
            envelope["properties"]["error"].is_object(),
            "{what}: {envelope}"
        );

        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no security: {op}"));
        let optional = security.contains(&json!({}));
        let bearer = security.contains(&json!({"bearer": []}));
        assert!(bearer, "{what}: no bearer requirement: {security:?}");
        assert_eq!(
            optional,
            *auth == "public",
            "{what}: security {security:?} for auth {auth}"
        );
    }
    // Only the functions that exist are documented.
    let documented: Vec<&String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.starts_with("/api/functions/"))
        .collect();
    assert_eq!(documented.len(), ALL.len(), "{documented:?}");

    // Input types keep their field docs.
    let echo = &doc["paths"]["/api/functions/echo"]["post"];
    let input = assert_ref_resolves(
        &doc,
        &echo["requestBody"]["content"]["application/json"]["schema"],
        "echo",
    );
    assert_eq!(
        input["properties"]["text"]["description"], "The text to repeat.",
        "{input}"
    );
    assert!(
        echo["description"]
            .as_str()
            .unwrap()
            .starts_with("Repeats a text a number of times."),
        "{echo}"
    );
    let output = assert_ref_resolves(
        &doc,
        &echo["responses"]["200"]["content"]["application/json"]["schema"],
        "echo",
    );
    assert!(output["properties"]["echoed"].is_object(), "{output}");

    // The generic and admin routes.
    for (path, secured) in [
        ("/api/functions", false),
        ("/api/admin/functions", true),
        ("/api/admin/functions/calls", true),
        ("/api/admin/functions/calls/{id}", true),
    ] {
        let op = &doc["paths"][path]["get"];
        assert!(op.is_object(), "GET {path} is not documented");
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(ok.is_object(), "GET {path}: no 200 schema: {op}");
        let security = op.get("security").cloned().unwrap_or(Value::Null);
        if secured {
            assert!(
                security
                    .as_array()
                    .is_some_and(|s| s.contains(&json!({"bearer": []})) && !s.contains(&json!({}))),
                "GET {path}: {security}"
            );
        }
    }
    let calls = &doc["paths"]["/api/admin/functions/calls"]["get"];
    let params: Vec<&str> = calls["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for expected in [
        "page",
        "per_page",
        "function_name",
        "status",
        "trigger_type",
        "since",
        "until",
    ] {
        assert!(params.contains(&expected), "{expected} in {params:?}");
    }
    let one = &doc["paths"]["/api/admin/functions/calls/{id}"]["get"];
    assert!(
        one["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == "id" && p["in"] == "path")),
        "{one}"
    );
}
