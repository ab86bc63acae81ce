//! What the server really sends, checked against what `/openapi.json` says it sends.
//!
//! A client generated from the document trusts every response schema in it. This test
//! drives each route group (auth, users, collections, records, functions, schedules, the
//! call history) through success and error answers over real HTTP, then validates every
//! body against the schema the document gives for that operation and status, with a JSON
//! Schema 2020-12 validator. Object schemas are closed first (`additionalProperties:
//! false` where the document leaves it open), so a field the server sends but the
//! document does not mention fails too; so does a documented success status the server
//! does not use, a body where the document says there is none, and the other way round.
//! The request bodies the server accepted are checked against the documented request
//! schemas as well.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Result};

/// Two numbers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct AddInput {
    x: i64,
    y: i64,
}

/// Their sum.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct AddOutput {
    sum: i64,
}

/// Adds two numbers.
#[tinybase::function(auth = "auth")]
async fn add_numbers(_ctx: Context, input: AddInput) -> Result<AddOutput> {
    Ok(AddOutput {
        sum: input.x + input.y,
    })
}

/// Says who is asking; takes no input.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Caller {
    user_id: Option<String>,
    is_admin: bool,
}

/// Reports the caller.
#[tinybase::function(auth = "public")]
async fn who(ctx: Context) -> Result<Caller> {
    Ok(Caller {
        user_id: ctx.user_id().map(str::to_owned),
        is_admin: ctx.is_admin(),
    })
}

/// Always fails with a conflict.
#[tinybase::function(auth = "admin")]
async fn always_conflicts(_ctx: Context) -> Result<AddOutput> {
    Err(tinybase::Error::conflict("already there"))
}

/// Where the document is registered for the validator; never fetched.
const DOC_URL: &str = "https://tinybase.invalid/openapi.json";

/// One answer the server gave.
struct Exchange {
    method: Method,
    /// The path as sent.
    path: String,
    /// The documented path template it belongs to.
    template: String,
    request: Option<Value>,
    status: StatusCode,
    /// `None` for an empty body.
    body: Option<Value>,
}

/// A test server that remembers every exchange for checking against the document.
struct Recorder {
    server: TestServer,
    exchanges: Vec<Exchange>,
}

impl Recorder {
    async fn send(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.server.request(method.clone(), path, token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let parsed = (!text.is_empty()).then(|| {
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|err| panic!("{method} {path}: {status} body is not JSON ({err})"))
        });
        self.exchanges.push(Exchange {
            method,
            path: path.to_owned(),
            template: template.to_owned(),
            request: body,
            status,
            body: parsed.clone(),
        });
        (status, parsed.unwrap_or(Value::Null))
    }

    /// Sends and asserts the status.
    async fn expect(
        &mut self,
        status: StatusCode,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (got, answer) = self.send(method.clone(), template, path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }
}

/// Adds `additionalProperties: false` to every object schema that lists its properties
/// and says nothing about others. Refuses to close schemas that are combined with others
/// through `allOf`, where closing one part would reject the other's properties.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(parts)) = object.get("allOf") {
                assert!(
                    parts.len() <= 1 || !parts.iter().any(|p| p.get("properties").is_some()),
                    "allOf over several object schemas: closing them would be wrong: {parts:?}"
                );
            }
            let lists_properties = object.contains_key("properties");
            let says_more = [
                "additionalProperties",
                "patternProperties",
                "unevaluatedProperties",
            ]
            .iter()
            .any(|k| object.contains_key(*k));
            if lists_properties && !says_more {
                object.insert("additionalProperties".into(), Value::Bool(false));
            }
            // In a schema, `default` and `examples` hold data, not schemas (in a
            // `responses` map, `default` is a response and is walked).
            let is_schema = object.contains_key("type");
            for (key, value) in object.iter_mut() {
                let data = matches!(
                    key.as_str(),
                    "default" | "example" | "examples" | "const" | "enum"
                );
                if !(is_schema && data) {
                    close_objects(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// A body for a failure message: whole when short, else its start.
fn shortened(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(2_000) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text,
    }
}

/// `/api/auth/me` → `~1api~1auth~1me`, for a JSON pointer.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The document, closed, loaded into a validator.
struct Contract {
    doc: Value,
    compiler: boon::Compiler,
    schemas: boon::Schemas,
}

impl Contract {
    fn new(mut doc: Value) -> Self {
        close_objects(&mut doc["components"]);
        close_objects(&mut doc["paths"]);
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler.add_resource(DOC_URL, doc.clone()).unwrap();
        Self {
            doc,
            compiler,
            schemas: boon::Schemas::new(),
        }
    }

    /// Validates `instance` against the schema at `pointer` in the document.
    fn validate(&mut self, pointer: &str, instance: &Value) -> std::result::Result<(), String> {
        let index = self
            .compiler
            .compile(&format!("{DOC_URL}#{pointer}"), &mut self.schemas)
            .map_err(|err| {
                format!("the document's schema at {pointer} does not compile: {err:#}")
            })?;
        self.schemas
            .validate(instance, index)
            .map_err(|err| format!("{err:#}"))
    }

    /// Every problem with one exchange, checked against the operation's documentation.
    fn check(&mut self, exchange: &Exchange) -> Vec<String> {
        let mut problems = Vec::new();
        let method = exchange.method.as_str().to_ascii_lowercase();
        let what = format!(
            "{} {} ({} {}) → {}",
            exchange.method, exchange.path, exchange.method, exchange.template, exchange.status
        );
        let operation_pointer = format!("/paths/{}/{method}", escape(&exchange.template));
        let Some(operation) = self.doc.pointer(&operation_pointer).cloned() else {
            return vec![format!("{what}: the operation is not documented")];
        };
        let status = exchange.status.as_str().to_owned();
        let response_key = if operation["responses"].get(&status).is_some() {
            status
        } else if exchange.status.is_success() {
            return vec![format!(
                "{what}: success status not documented (documented: {:?})",
                operation["responses"]
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>())
            )];
        } else if operation["responses"].get("default").is_some() {
            "default".to_owned()
        } else {
            return vec![format!(
                "{what}: neither this status nor a default is documented"
            )];
        };
        let response = &operation["responses"][&response_key];
        let schema_pointer = format!(
            "{operation_pointer}/responses/{response_key}/content/application~1json/schema"
        );
        match (&exchange.body, self.doc.pointer(&schema_pointer).is_some()) {
            (Some(body), true) => {
                if let Err(err) = self.validate(&schema_pointer, body) {
                    problems.push(format!(
                        "{what}: the body does not match the document: {err}\nbody: {}",
                        shortened(body)
                    ));
                }
            }
            (Some(body), false) => problems.push(format!(
                "{what}: a JSON body where the document has none ({response}): {}",
                shortened(body)
            )),
            (None, true) => problems.push(format!("{what}: no body where the document has one")),
            (None, false) => {}
        }
        if let (Some(request), true) = (&exchange.request, exchange.status.is_success()) {
            let request_pointer =
                format!("{operation_pointer}/requestBody/content/application~1json/schema");
            if self.doc.pointer(&request_pointer).is_none() {
                problems.push(format!(
                    "{what}: the server took a body the document does not describe"
                ));
            } else if let Err(err) = self.validate(&request_pointer, request) {
                problems.push(format!(
                    "{what}: the server accepted a request body the document refuses: {err}\nrequest: {request}"
                ));
            }
        }
        problems
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_match_the_documented_schemas() {
    let server = TestServer::start_with(|s| s.auth.login_limit_per_email = 5).await;
    let admin = server.admin_token().await;
    let mut r = Recorder {
        server,
        exchanges: Vec::new(),
    };
    use Method as M;
    use StatusCode as S;

    // Health, unknown routes and wrong methods.
    r.expect(S::OK, M::GET, "/api/health", "/api/health", None, None)
        .await;

    // Accounts.
    let session = r
        .expect(
            S::CREATED,
            M::POST,
            "/api/auth/register",
            "/api/auth/register",
            None,
            Some(json!({"email": "ann@example.com", "password": "ann-password"})),
        )
        .await;
    let ann = session["token"].as_str().unwrap().to_owned();
    r.expect(
        S::CONFLICT,
        M::POST,
        "/api/auth/register",
        "/api/auth/register",
        None,
        Some(json!({"email": "ann@example.com", "password": "ann-password"})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        "/api/auth/register",
        "/api/auth/register",
        None,
        Some(json!({"email": "not-an-email", "password": "x"})),
    )
    .await;
    r.expect(
        S::OK,
        M::POST,
        "/api/auth/login",
        "/api/auth/login",
        None,
        Some(json!({"email": "ann@example.com", "password": "ann-password"})),
    )
    .await;
    for _ in 0..5 {
        r.expect(
            S::UNAUTHORIZED,
            M::POST,
            "/api/auth/login",
            "/api/auth/login",
            None,
            Some(json!({"email": "bob@example.com", "password": "wrong-password"})),
        )
        .await;
    }
    r.expect(
        S::TOO_MANY_REQUESTS,
        M::POST,
        "/api/auth/login",
        "/api/auth/login",
        None,
        Some(json!({"email": "bob@example.com", "password": "wrong-password"})),
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        "/api/auth/me",
        "/api/auth/me",
        Some(&ann),
        None,
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::GET,
        "/api/auth/me",
        "/api/auth/me",
        None,
        None,
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::GET,
        "/api/auth/me",
        "/api/auth/me",
        Some("tb_not_a_real_token"),
        None,
    )
    .await;
    let changed = r
        .expect(
            S::OK,
            M::POST,
            "/api/auth/password",
            "/api/auth/password",
            Some(&ann),
            Some(json!({"current_password": "ann-password", "new_password": "ann-password-2"})),
        )
        .await;
    let ann = changed["token"].as_str().unwrap().to_owned();
    account_flows(&mut r, &admin).await;
    let (status, _) = r
        .send(
            M::POST,
            "/api/auth/password",
            "/api/auth/password",
            Some(&ann),
            Some(json!({"current_password": "wrong", "new_password": "ann-password-3"})),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    let throwaway = r
        .expect(
            S::OK,
            M::POST,
            "/api/auth/login",
            "/api/auth/login",
            None,
            Some(json!({"email": "ann@example.com", "password": "ann-password-2"})),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    r.expect(
        S::NO_CONTENT,
        M::POST,
        "/api/auth/logout",
        "/api/auth/logout",
        Some(&throwaway),
        None,
    )
    .await;

    // Users (admin).
    let users = "/api/admin/users";
    let user_path = "/api/admin/users/{id}";
    r.expect(
        S::OK,
        M::GET,
        users,
        "/api/admin/users?per_page=5&search=ann",
        Some(&admin),
        None,
    )
    .await;
    r.expect(S::FORBIDDEN, M::GET, users, users, Some(&ann), None)
        .await;
    let created = r
        .expect(
            S::CREATED,
            M::POST,
            users,
            users,
            Some(&admin),
            Some(json!({"email": "carl@example.com", "password": "carl-password", "is_admin": false})),
        )
        .await;
    let carl = format!("/api/admin/users/{}", created["id"].as_str().unwrap());
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        users,
        users,
        Some(&admin),
        Some(json!({"email": "dan@example.com", "password": "short"})),
    )
    .await;
    r.expect(S::OK, M::GET, user_path, &carl, Some(&admin), None)
        .await;
    r.expect(
        S::OK,
        M::PATCH,
        user_path,
        &carl,
        Some(&admin),
        Some(json!({"is_admin": true, "email": "carl2@example.com"})),
    )
    .await;
    r.expect(
        S::NO_CONTENT,
        M::DELETE,
        user_path,
        &carl,
        Some(&admin),
        None,
    )
    .await;
    r.expect(S::NOT_FOUND, M::GET, user_path, &carl, Some(&admin), None)
        .await;

    // Collections.
    let collections = "/api/collections";
    let collection_path = "/api/collections/{name}";
    let posts = json!({
        "name": "posts",
        "label": "Posts",
        "schema": {"fields": [
            {"name": "title", "type": "string", "required": true, "max_length": 100},
            {"name": "rating", "type": "int", "min": 0, "max": 5, "indexed": true},
            {"name": "tags", "type": "list[string]"},
            {"name": "published", "type": "boolean", "default": false},
            {"name": "at", "type": "datetime"},
            {"name": "status", "type": "select", "values": ["draft", "live"]},
            {"name": "meta", "type": "json"},
            {"name": "score", "type": "float"},
        ]},
        "options": {"list_rule": "public", "view_rule": "public", "create_rule": "auth",
                    "update_rule": "owner", "delete_rule": "owner"},
    });
    r.expect(
        S::CREATED,
        M::POST,
        collections,
        collections,
        Some(&admin),
        Some(posts.clone()),
    )
    .await;
    r.expect(
        S::CONFLICT,
        M::POST,
        collections,
        collections,
        Some(&admin),
        Some(posts),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        collections,
        collections,
        Some(&admin),
        Some(json!({"name": "bad", "schema": {"fields": [{"name": "Bad", "type": "int", "pattern": "("}]}})),
    )
    .await;
    r.expect(
        S::FORBIDDEN,
        M::POST,
        collections,
        collections,
        Some(&ann),
        Some(json!({"name": "mine", "schema": {"fields": []}})),
    )
    .await;
    r.expect(
        S::CREATED,
        M::POST,
        collections,
        collections,
        Some(&admin),
        Some(json!({"name": "scratch", "schema": {"fields": [{"name": "n", "type": "int"}]}})),
    )
    .await;
    r.expect(S::OK, M::GET, collections, collections, None, None)
        .await;
    r.expect(
        S::OK,
        M::GET,
        collections,
        "/api/collections?page=1&per_page=1",
        Some(&admin),
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        collection_path,
        "/api/collections/posts",
        None,
        None,
    )
    .await;
    r.expect(
        S::NOT_FOUND,
        M::GET,
        collection_path,
        "/api/collections/nope",
        None,
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::PATCH,
        collection_path,
        "/api/collections/scratch",
        Some(&admin),
        Some(json!({"label": "Scratch", "options": {"list_rule": "admin"}})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::PATCH,
        collection_path,
        "/api/collections/scratch",
        Some(&admin),
        Some(json!({"schema": {"fields": [{"name": "n", "type": "nope"}]}})),
    )
    .await;
    r.expect(
        S::NO_CONTENT,
        M::DELETE,
        collection_path,
        "/api/collections/scratch",
        Some(&admin),
        None,
    )
    .await;

    // Records, through the generic and the per-collection paths.
    let records = "/api/collections/{name}/records";
    let record_path = "/api/collections/{name}/records/{id}";
    let full = json!({
        "title": "Hello", "rating": 4, "tags": ["a", "b"], "at": "2026-01-31T12:00:00+01:00",
        "status": "live", "meta": {"any": [1, null]}, "score": 2.5,
    });
    let record = r
        .expect(
            S::CREATED,
            M::POST,
            records,
            "/api/collections/posts/records",
            Some(&ann),
            Some(full),
        )
        .await;
    let one = format!(
        "/api/collections/posts/records/{}",
        record["id"].as_str().unwrap()
    );
    r.expect(
        S::CREATED,
        M::POST,
        records,
        "/api/collections/posts/records",
        Some(&admin),
        Some(json!({"title": "Minimal"})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        records,
        "/api/collections/posts/records",
        Some(&ann),
        Some(json!({"title": 5, "rating": 9, "extra": true})),
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::POST,
        records,
        "/api/collections/posts/records",
        None,
        Some(json!({"title": "anonymous"})),
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        records,
        "/api/collections/posts/records?filter=rating%20%3E%3D%203&sort=-created_at&per_page=10",
        None,
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        records,
        "/api/collections/posts/records",
        None,
        None,
    )
    .await;
    r.expect(
        S::BAD_REQUEST,
        M::GET,
        records,
        "/api/collections/posts/records?filter=rating%20%3E",
        None,
        None,
    )
    .await;
    r.expect(
        S::NOT_FOUND,
        M::GET,
        records,
        "/api/collections/nope/records",
        None,
        None,
    )
    .await;
    r.expect(S::OK, M::GET, record_path, &one, None, None).await;
    r.expect(
        S::OK,
        M::PATCH,
        record_path,
        &one,
        Some(&ann),
        Some(json!({"rating": 5, "tags": null})),
    )
    .await;
    let eve = throwaway_user(&mut r).await;
    r.expect(
        S::FORBIDDEN,
        M::PATCH,
        record_path,
        &one,
        Some(&eve),
        Some(json!({"rating": 1})),
    )
    .await;
    r.expect(
        S::NO_CONTENT,
        M::DELETE,
        record_path,
        &one,
        Some(&ann),
        None,
    )
    .await;
    r.expect(S::NOT_FOUND, M::GET, record_path, &one, None, None)
        .await;

    // A page cut short at its byte budget says `"truncated": true`: 28 records of 600 KB
    // (made without recording them) are more than the 16 MiB one page may hold.
    r.server
        .create_collection(
            &admin,
            json!({"name": "big", "schema": {"fields": [{"name": "body", "type": "text"}]}}),
        )
        .await;
    let body = "b".repeat(600_000);
    for _ in 0..28 {
        r.server
            .create_record("big", Some(&admin), json!({ "body": body }))
            .await;
    }
    let page = r
        .expect(
            S::OK,
            M::GET,
            records,
            "/api/collections/big/records?per_page=500",
            None,
            None,
        )
        .await;
    assert_eq!(page["truncated"], true, "the page was not cut short");

    // Functions and their call history.
    r.expect(
        S::OK,
        M::GET,
        "/api/functions",
        "/api/functions",
        None,
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        "/api/functions",
        "/api/functions",
        Some(&admin),
        None,
    )
    .await;
    let add = "/api/functions/add_numbers";
    r.expect(
        S::OK,
        M::POST,
        add,
        add,
        Some(&ann),
        Some(json!({"x": 2, "y": 3})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        add,
        add,
        Some(&ann),
        Some(json!({"x": "two"})),
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::POST,
        add,
        add,
        None,
        Some(json!({"x": 2, "y": 3})),
    )
    .await;
    let who = "/api/functions/who";
    r.expect(S::OK, M::POST, who, who, None, None).await;
    r.expect(S::OK, M::POST, who, who, Some(&admin), None).await;
    let conflicts = "/api/functions/always_conflicts";
    r.expect(
        S::CONFLICT,
        M::POST,
        conflicts,
        conflicts,
        Some(&admin),
        None,
    )
    .await;
    r.expect(
        S::FORBIDDEN,
        M::POST,
        conflicts,
        conflicts,
        Some(&ann),
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        "/api/admin/functions",
        "/api/admin/functions",
        Some(&admin),
        None,
    )
    .await;
    let calls = "/api/admin/functions/calls";
    let page = r
        .expect(
            S::OK,
            M::GET,
            calls,
            "/api/admin/functions/calls?per_page=50",
            Some(&admin),
            None,
        )
        .await;
    r.expect(
        S::OK,
        M::GET,
        calls,
        "/api/admin/functions/calls?status=failed&trigger_type=manual&function_name=always_conflicts",
        Some(&admin),
        None,
    )
    .await;
    r.expect(
        S::BAD_REQUEST,
        M::GET,
        calls,
        "/api/admin/functions/calls?status=sideways",
        Some(&admin),
        None,
    )
    .await;
    let call_path = "/api/admin/functions/calls/{id}";
    for call in page["items"].as_array().unwrap() {
        let path = format!(
            "/api/admin/functions/calls/{}",
            call["id"].as_str().unwrap()
        );
        r.expect(S::OK, M::GET, call_path, &path, Some(&admin), None)
            .await;
    }
    r.expect(
        S::NOT_FOUND,
        M::GET,
        call_path,
        "/api/admin/functions/calls/01900000-0000-7000-8000-000000000000",
        Some(&admin),
        None,
    )
    .await;

    // Replication: off in this server, which the report says.
    let replication = "/api/admin/replication";
    let report = r
        .expect(S::OK, M::GET, replication, replication, Some(&admin), None)
        .await;
    assert_eq!(report["enabled"], false, "{report}");
    assert_eq!(report["status"], Value::Null, "{report}");
    r.expect(
        S::UNAUTHORIZED,
        M::GET,
        replication,
        replication,
        None,
        None,
    )
    .await;

    // Schedules, one of each kind.
    let schedules = "/api/admin/schedules";
    let schedule_path = "/api/admin/schedules/{id}";
    let mut ids = Vec::new();
    for schedule in [
        json!({"method": "interval", "unit": "hours", "value": 2, "timezone": "Europe/Berlin"}),
        json!({"method": "cron", "cron": "0 3 * * 1-5", "timezone": "UTC", "description": "weekday nights"}),
        json!({"method": "once", "date": "2099-12-24", "time": "18:00", "timezone": "UTC"}),
    ] {
        let created = r
            .expect(
                S::CREATED,
                M::POST,
                schedules,
                schedules,
                Some(&admin),
                Some(
                    json!({"name": "sum", "function_name": "add_numbers", "schedule": schedule,
                            "input": {"x": 1, "y": 2}}),
                ),
            )
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        schedules,
        schedules,
        Some(&admin),
        Some(json!({"name": "bad", "function_name": "add_numbers",
                    "schedule": {"method": "cron", "cron": "61 * * * *"}, "input": {"x": 1}})),
    )
    .await;
    r.expect(S::FORBIDDEN, M::GET, schedules, schedules, Some(&ann), None)
        .await;
    r.expect(
        S::OK,
        M::GET,
        schedules,
        "/api/admin/schedules?is_active=true",
        Some(&admin),
        None,
    )
    .await;
    let first = format!("/api/admin/schedules/{}", ids[0]);
    r.expect(S::OK, M::GET, schedule_path, &first, Some(&admin), None)
        .await;
    r.expect(
        S::OK,
        M::PATCH,
        schedule_path,
        &first,
        Some(&admin),
        Some(json!({"is_active": false, "name": "paused"})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::PATCH,
        schedule_path,
        &first,
        Some(&admin),
        Some(json!({"function_name": "nope"})),
    )
    .await;
    r.expect(
        S::NO_CONTENT,
        M::DELETE,
        schedule_path,
        &first,
        Some(&admin),
        None,
    )
    .await;
    r.expect(
        S::NOT_FOUND,
        M::GET,
        schedule_path,
        &first,
        Some(&admin),
        None,
    )
    .await;

    webhooks(&mut r, &admin, &ann).await;

    // The document as the admin sees it (every collection), checked against every answer.
    let (status, doc) = r.server.get("/openapi.json", Some(&admin)).await;
    assert_eq!(status, S::OK);
    let mut contract = Contract::new(doc);
    let mut problems = Vec::new();
    let mut specific = 0;
    for exchange in &r.exchanges {
        problems.extend(contract.check(exchange));
        // A collection's own typed paths describe its records too.
        let concrete = exchange.path.split('?').next().unwrap().to_owned();
        let typed_template = match concrete.split('/').collect::<Vec<_>>()[..] {
            ["", "api", "collections", name, "records"] => {
                Some(format!("/api/collections/{name}/records"))
            }
            ["", "api", "collections", name, "records", _] => {
                Some(format!("/api/collections/{name}/records/{{id}}"))
            }
            _ => None,
        };
        if let Some(template) = typed_template
            && contract.doc["paths"].get(&template).is_some()
        {
            let typed = Exchange {
                method: exchange.method.clone(),
                path: exchange.path.clone(),
                template,
                request: exchange.request.clone(),
                status: exchange.status,
                body: exchange.body.clone(),
            };
            problems.extend(contract.check(&typed));
            specific += 1;
        }
    }
    assert!(specific >= 10, "the typed record paths were hardly checked");
    assert!(
        problems.is_empty(),
        "{} of {} answers disagree with /openapi.json:\n\n{}",
        problems.len(),
        r.exchanges.len(),
        problems.join("\n\n")
    );
    // The errors above span every status the API uses but 405, 413, 415, 500 and 504.
    let statuses: std::collections::BTreeSet<u16> =
        r.exchanges.iter().map(|e| e.status.as_u16()).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [200, 201, 204, 400, 401, 403, 404, 409, 422, 429]
    );
}

/// Mail-token, TOTP and OAuth2 answers (mail and providers are off here: their full flows
/// are in the accounts_* tests).
async fn account_flows(r: &mut Recorder, admin: &str) {
    use Method as M;
    use StatusCode as S;
    let session = r
        .expect(
            S::CREATED,
            M::POST,
            "/api/auth/register",
            "/api/auth/register",
            None,
            Some(json!({"email": "mfa@example.com", "password": "mfa-password"})),
        )
        .await;
    let token = session["token"].as_str().unwrap().to_owned();
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("/api/auth/verification/confirm", json!({"token": "tb_x"})),
        (
            "/api/auth/password-reset/confirm",
            json!({"token": "tb_x", "new_password": "long-enough"}),
        ),
        ("/api/auth/email-change/confirm", json!({"token": "tb_x"})),
    ] {
        r.expect(S::BAD_REQUEST, M::POST, path, path, None, Some(body))
            .await;
    }
    let setup_path = "/api/auth/mfa/totp/setup";
    let setup = r
        .expect(S::OK, M::POST, setup_path, setup_path, Some(&token), None)
        .await;
    let confirm_path = "/api/auth/mfa/totp/confirm";
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        confirm_path,
        confirm_path,
        Some(&token),
        Some(json!({"code": "abcdef"})),
    )
    .await;
    let secret = totp_rs::Secret::try_from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let at = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    r.expect(
        S::OK,
        M::POST,
        confirm_path,
        confirm_path,
        Some(&token),
        Some(json!({"code": totp.generate(at).to_string()})),
    )
    .await;
    let required = r
        .expect(
            S::UNAUTHORIZED,
            M::POST,
            "/api/auth/login",
            "/api/auth/login",
            None,
            Some(json!({"email": "mfa@example.com", "password": "mfa-password"})),
        )
        .await;
    let mfa_token = required["error"]["details"]["mfa_token"].as_str().unwrap();
    r.expect(
        S::UNAUTHORIZED,
        M::POST,
        "/api/auth/mfa/verify",
        "/api/auth/mfa/verify",
        None,
        Some(json!({"mfa_token": mfa_token, "code": "abcdef"})),
    )
    .await;
    r.expect(
        S::OK,
        M::DELETE,
        "/api/admin/users/{id}/mfa",
        &format!("/api/admin/users/{user_id}/mfa"),
        Some(admin),
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::GET,
        "/api/admin/users/{id}/identities",
        &format!("/api/admin/users/{user_id}/identities"),
        Some(admin),
        None,
    )
    .await;
    r.expect(
        S::NOT_FOUND,
        M::GET,
        "/api/admin/users/{id}/identities",
        "/api/admin/users/nobody/identities",
        Some(admin),
        None,
    )
    .await;
    let providers = "/api/auth/oauth2/providers";
    r.expect(S::OK, M::GET, providers, providers, None, None)
        .await;
    let identities = "/api/auth/oauth2/identities";
    r.expect(S::OK, M::GET, identities, identities, Some(&token), None)
        .await;
    r.expect(
        S::NOT_FOUND,
        M::DELETE,
        "/api/auth/oauth2/identities/{provider}",
        "/api/auth/oauth2/identities/google",
        Some(&token),
        None,
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::POST,
        "/api/auth/oauth2/exchange",
        "/api/auth/oauth2/exchange",
        None,
        Some(json!({"code": "tb_x"})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::GET,
        "/api/auth/oauth2/{provider}/start",
        "/api/auth/oauth2/google/start?redirect_to=https://evil.example.com/",
        None,
        None,
    )
    .await;
    r.expect(
        S::UNAUTHORIZED,
        M::GET,
        "/api/auth/oauth2/{provider}/callback",
        "/api/auth/oauth2/google/callback?state=tb_x&code=y",
        None,
        None,
    )
    .await;
}

/// A second signed-in user, for "not the owner" answers.
async fn throwaway_user(r: &mut Recorder) -> String {
    let session = r
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/api/auth/register",
            "/api/auth/register",
            None,
            Some(json!({"email": "eve@example.com", "password": "eve-password"})),
        )
        .await;
    session["token"].as_str().unwrap().to_owned()
}

/// The checker itself: it must refuse what does not match, or the test above proves
/// nothing.
#[test]
fn the_contract_refuses_undocumented_fields_statuses_and_bodies() {
    let doc = json!({
        "openapi": "3.1.0",
        "paths": {"/thing": {"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "204": {"description": "nothing"},
            "default": {"content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}},
        }}}},
        "components": {"schemas": {"Thing": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}},
            "required": ["id"],
        }}},
    });
    let mut contract = Contract::new(doc);
    let exchange = |status: u16, body: Option<Value>| Exchange {
        method: Method::GET,
        path: "/thing".into(),
        template: "/thing".into(),
        request: None,
        status: StatusCode::from_u16(status).unwrap(),
        body,
    };
    let ok = |contract: &mut Contract, status, body| contract.check(&exchange(status, body));
    assert_eq!(
        ok(
            &mut contract,
            200,
            Some(json!({"id": "x", "at": "2026-01-01T00:00:00Z"}))
        ),
        Vec::<String>::new()
    );
    assert_eq!(ok(&mut contract, 204, None), Vec::<String>::new());
    assert_eq!(
        ok(&mut contract, 404, Some(json!({"error": "gone"}))),
        Vec::<String>::new()
    );
    for (status, body) in [
        (200, Some(json!({"id": "x", "secret": "leaked"}))),
        (200, Some(json!({"at": "2026-01-01T00:00:00Z"}))),
        (200, Some(json!({"id": "x", "at": "yesterday"}))),
        (200, None),
        (201, Some(json!({"id": "x"}))),
        (204, Some(json!({}))),
        (404, Some(json!({"error": "gone", "code": 1}))),
    ] {
        assert!(
            !ok(&mut contract, status, body.clone()).is_empty(),
            "{status} {body:?} passed"
        );
    }
    let mut unknown = exchange(200, Some(json!({"id": "x"})));
    unknown.template = "/other".into();
    assert!(!contract.check(&unknown).is_empty());
}

/// Webhooks: managed, validated, and one real (failed) delivery attempt in the log.
async fn webhooks(r: &mut Recorder, admin: &str, user: &str) {
    use Method as M;
    use StatusCode as S;
    let collections = "/api/collections";
    r.expect(
        S::CREATED,
        M::POST,
        collections,
        collections,
        Some(admin),
        Some(json!({"name": "hooked", "schema": {"fields": [{"name": "n", "type": "int"}]}})),
    )
    .await;
    // Nobody listens on this port: the attempt fails at once and is logged.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let hooks = "/api/admin/webhooks";
    let hook_path = "/api/admin/webhooks/{id}";
    let created = r
        .expect(
            S::CREATED,
            M::POST,
            hooks,
            hooks,
            Some(admin),
            Some(
                json!({"url": url, "collections": ["hooked"], "events": ["create"],
                        "secret": "openapi-secret-0123456"}),
            ),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::POST,
        hooks,
        hooks,
        Some(admin),
        Some(
            json!({"url": "ftp://x", "collections": ["nope"], "events": ["created"],
                    "secret": "short"}),
        ),
    )
    .await;
    r.expect(S::FORBIDDEN, M::GET, hooks, hooks, Some(user), None)
        .await;
    r.expect(S::OK, M::GET, hooks, hooks, Some(admin), None)
        .await;
    let one = format!("/api/admin/webhooks/{id}");
    r.expect(S::OK, M::GET, hook_path, &one, Some(admin), None)
        .await;
    let records = "/api/collections/{name}/records";
    r.expect(
        S::CREATED,
        M::POST,
        records,
        "/api/collections/hooked/records",
        Some(admin),
        Some(json!({"n": 1})),
    )
    .await;
    let deliveries_path = "/api/admin/webhooks/{id}/deliveries";
    let deliveries = format!("/api/admin/webhooks/{id}/deliveries");
    let mut log = Value::Null;
    for _ in 0..600 {
        let (status, body) = r.server.get(&deliveries, Some(admin)).await;
        assert_eq!(status, S::OK);
        if body["total_items"].as_u64().unwrap() > 0 {
            log = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let delivery_id = log["items"][0]["delivery_id"].as_str().unwrap().to_owned();
    r.expect(
        S::OK,
        M::GET,
        deliveries_path,
        &deliveries,
        Some(admin),
        None,
    )
    .await;
    let redeliver_path = "/api/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver";
    r.expect(
        S::OK,
        M::POST,
        redeliver_path,
        &format!("/api/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
        Some(admin),
        None,
    )
    .await;
    r.expect(
        S::NOT_FOUND,
        M::POST,
        redeliver_path,
        &format!("/api/admin/webhooks/{id}/deliveries/nope/redeliver"),
        Some(admin),
        None,
    )
    .await;
    r.expect(
        S::OK,
        M::PATCH,
        hook_path,
        &one,
        Some(admin),
        Some(json!({"is_active": false})),
    )
    .await;
    r.expect(
        S::UNPROCESSABLE_ENTITY,
        M::PATCH,
        hook_path,
        &one,
        Some(admin),
        Some(json!({"events": []})),
    )
    .await;
    r.expect(S::NO_CONTENT, M::DELETE, hook_path, &one, Some(admin), None)
        .await;
    r.expect(S::NOT_FOUND, M::GET, hook_path, &one, Some(admin), None)
        .await;
}
