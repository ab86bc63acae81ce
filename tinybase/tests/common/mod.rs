//! Shared harness for the integration tests: a real TinyBase server per test, bound to a
//! random loopback port, over a database in a temporary directory.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod peers;
pub mod records;

use chrono::{DateTime, Utc};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tinybase::config::Settings;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A running server and a client pointed at it.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    pub app: tinybase::Tinybase,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with default settings and one admin (`ADMIN_EMAIL` / `ADMIN_PASSWORD`).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose settings `tweak` adjusts first.
    ///
    /// Unlike a real server, registration is not rate-limited unless `tweak` turns the limit
    /// on: many tests register more users from 127.0.0.1 than the default allows a minute.
    /// The tests of the limit itself put the default back.
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.database.url = dir.path().join("test.db").display().to_string();
        settings.auth.registration_limit_per_ip = 0;
        tweak(&mut settings);
        let app = tinybase::App::new(settings)
            .build()
            .await
            .expect("build app");
        tinybase::auth::Users::new(app.database().clone())
            .ensure_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("create admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        tokio::spawn(app.clone().serve(listener, std::future::pending()));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        Self {
            base,
            client,
            app,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request builder with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends a request with an optional JSON body; returns status and parsed body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = self.request(method, path, token);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        read(builder.send().await.expect("send request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, token, None).await
    }

    /// Logs in and returns the token; panics unless the login succeeds.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/api/auth/login",
                None,
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Registers a user; returns the token and the user. Panics unless it succeeds.
    pub async fn register(&self, email: &str, password: &str) -> (String, Value) {
        let (status, body) = self
            .post(
                "/api/auth/register",
                None,
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {email}: {body}");
        (
            body["token"].as_str().expect("token").to_owned(),
            body["user"].clone(),
        )
    }

    /// How many users exist, straight from the database.
    pub async fn user_count(&self) -> i64 {
        self.app
            .database()
            .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
            .await
            .expect("count users")
    }

    /// How many tokens exist, straight from the database.
    pub async fn token_count(&self) -> i64 {
        self.app
            .database()
            .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM auth_tokens", [], |r| r.get(0))?))
            .await
            .expect("count tokens")
    }
}

/// Status and body of a response; the body parsed as JSON (`Null` when empty).
pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{status}: body is not JSON ({err}): {text:?}"))
    };
    (status, body)
}

/// Asserts that `body` is the error envelope with `code`; returns the error object.
#[track_caller]
pub fn assert_error(body: &Value, code: &str) -> Value {
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error envelope: {body}"));
    assert_eq!(error["code"], code, "wrong error code: {body}");
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error message is not a string: {body}"));
    assert!(!message.is_empty(), "empty error message: {body}");
    let object = body.as_object().expect("object");
    assert_eq!(object.len(), 1, "extra top-level keys: {body}");
    for key in error.as_object().expect("error object").keys() {
        assert!(
            ["code", "message", "details"].contains(&key.as_str()),
            "unexpected key {key} in error: {body}"
        );
    }
    error.clone()
}

/// Asserts the status and the envelope code at once.
#[track_caller]
pub fn assert_status_error(
    (status, body): &(StatusCode, Value),
    expected: StatusCode,
    code: &str,
) -> Value {
    assert_eq!(*status, expected, "body: {body}");
    assert_error(body, code)
}

/// Parses an RFC 3339 timestamp; panics on anything else.
#[track_caller]
pub fn timestamp(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("bad timestamp {text:?}: {err}"))
        .with_timezone(&Utc)
}

/// Asserts that `user` has exactly the public user shape and never a password.
#[track_caller]
pub fn assert_user_shape(user: &Value, email: &str, is_admin: bool) {
    let object = user
        .as_object()
        .unwrap_or_else(|| panic!("user is not an object: {user}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "email_verified",
            "id",
            "is_admin",
            "mfa_enabled",
            "updated_at"
        ],
        "user keys: {user}"
    );
    assert!(user["email_verified"].is_boolean(), "{user}");
    assert!(user["mfa_enabled"].is_boolean(), "{user}");
    // TOTP secrets stay in the database.
    assert!(!user.to_string().contains("totp"), "{user}");
    let text = user.to_string();
    assert!(!text.contains("password"), "password leaked: {user}");
    assert!(!text.contains("$argon2"), "hash leaked: {user}");
    let id = user["id"].as_str().expect("id is a string");
    assert!(uuid_like(id), "id is not a UUID: {id}");
    assert_eq!(user["email"], email, "{user}");
    assert_eq!(user["is_admin"], is_admin, "{user}");
    let created = timestamp(&user["created_at"]);
    let updated = timestamp(&user["updated_at"]);
    assert!(updated >= created, "{user}");
    let age = Utc::now() - created;
    assert!(
        age >= chrono::Duration::seconds(-5) && age < chrono::Duration::minutes(5),
        "created_at is not recent: {user}"
    );
}

fn uuid_like(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}
