//! `/api/auth/*` over a real HTTP server: register, login, logout, me, token handling,
//! login and registration throttling, and closed registration.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use chrono::{Duration, Utc};
use common::{TestServer, assert_error, assert_status_error, assert_user_shape, timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tinybase::config::{AuthSettings, Registration};

const PASSWORD: &str = "correct horse";

/// Asserts `{token, expires_at, user}` with a token that expires `ttl_hours` from now.
#[track_caller]
fn assert_session(body: &Value, email: &str, ttl_hours: i64) {
    let object = body.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expires_at", "token", "user"], "{body}");
    let token = body["token"].as_str().expect("token is a string");
    assert!(token.starts_with("tb_"), "{token}");
    assert!(token.len() >= 3 + 64, "token too short: {token}");
    let expires_at = timestamp(&body["expires_at"]);
    let expected = Utc::now() + Duration::hours(ttl_hours);
    let off = (expires_at - expected).num_seconds().abs();
    assert!(
        off < 60,
        "expires_at {expires_at} is {off}s from now + {ttl_hours}h"
    );
    assert_user_shape(&body["user"], email, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_returns_a_session_and_the_user() {
    let server = TestServer::start().await;
    let before = server.user_count().await;
    let (status, body) = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_session(&body, "ann@example.com", 24);
    assert!(!body.to_string().contains("password"), "{body}");
    assert_eq!(server.user_count().await, before + 1);

    // The token works at once and names the same user.
    let token = body["token"].as_str().unwrap();
    let (status, me) = server.get("/api/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me, body["user"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_ttl_setting_sets_expires_at() {
    let server = TestServer::start_with(|s| s.auth.token_ttl_hours = 2).await;
    let (status, body) = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "ttl@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_session(&body, "ttl@example.com", 2);

    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "ttl@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_session(&body, "ttl@example.com", 2);

    // The stored expiry matches what the client was told.
    let token_hash = tinybase::auth::token::hash(body["token"].as_str().unwrap());
    let stored: String = server
        .app
        .database()
        .read(move |conn| {
            Ok(conn.query_row(
                "SELECT expires_at FROM auth_tokens WHERE token_hash = ?1",
                [token_hash],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(
        tinybase::db::parse_timestamp(&stored).unwrap(),
        timestamp(&body["expires_at"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_session_and_normalises_the_email() {
    let server = TestServer::start().await;
    let (_, user) = server.register("ann@example.com", PASSWORD).await;

    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_session(&body, "ann@example.com", 24);
    assert_eq!(body["user"], user);

    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": " Ann@Example.COM ", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["id"], user["id"]);
    assert_eq!(body["user"]["email"], "ann@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_normalises_the_email() {
    let server = TestServer::start().await;
    let (_, user) = server.register("  Bob@Example.COM ", PASSWORD).await;
    assert_user_shape(&user, "bob@example.com", false);
    let token = server.login("bob@example.com", PASSWORD).await;
    let (status, me) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], user["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_returns_the_user() {
    let server = TestServer::start().await;
    let (token, user) = server.register("me@example.com", PASSWORD).await;
    let (status, me) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_user_shape(&me, "me@example.com", false);
    assert_eq!(me, user);

    // The admin's own token says it is an admin.
    let admin = server.admin_token().await;
    let (status, me) = server.get("/api/auth/me", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], common::ADMIN_EMAIL);
    assert_eq!(me["is_admin"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_only_that_token() {
    let server = TestServer::start().await;
    let (first, _) = server.register("out@example.com", PASSWORD).await;
    let second = server.login("out@example.com", PASSWORD).await;
    assert_ne!(first, second);

    let (status, body) = server
        .send(Method::POST, "/api/auth/logout", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);

    let response = server.get("/api/auth/me", Some(&first)).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");

    let (status, me) = server.get("/api/auth/me", Some(&second)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "out@example.com");

    // Logout needs a token, and one of a live session: a revoked or made-up token is
    // refused like on every other authenticated endpoint.
    for token in [None, Some(first.as_str()), Some("not-a-token")] {
        let response = server
            .send(Method::POST, "/api/auth/logout", token, None)
            .await;
        assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let (status, _) = server.get("/api/auth/me", Some(&second)).await;
    assert_eq!(status, StatusCode::OK, "refused logouts revoke nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_email_is_409_and_creates_nothing() {
    let server = TestServer::start().await;
    server.register("dup@example.com", PASSWORD).await;
    let before = server.user_count().await;

    for email in ["dup@example.com", "DUP@Example.com", " dup@example.com "] {
        let response = server
            .post(
                "/api/auth/register",
                None,
                json!({ "email": email, "password": "another password" }),
            )
            .await;
        let error = assert_status_error(&response, StatusCode::CONFLICT, "conflict");
        assert!(error["details"]["fields"]["email"].is_string(), "{error}");
    }
    assert_eq!(server.user_count().await, before);
    // The original password still works: the account was not overwritten.
    server.login("dup@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_email_and_short_password_are_422_with_fields() {
    let server = TestServer::start().await;
    let before = server.user_count().await;

    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "not-an-email", "password": PASSWORD }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = error["details"]["fields"].as_object().expect("fields");
    assert!(fields["email"].is_string(), "{error}");
    assert!(!fields.contains_key("password"), "{error}");

    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "short@example.com", "password": "1234567" }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = error["details"]["fields"].as_object().expect("fields");
    assert!(fields["password"].is_string(), "{error}");
    assert!(!fields.contains_key("email"), "{error}");

    // Both problems are reported at once.
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "nope", "password": "short" }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = error["details"]["fields"].as_object().expect("fields");
    assert!(fields["email"].is_string(), "{error}");
    assert!(fields["password"].is_string(), "{error}");

    // Exactly eight characters is enough (characters, not bytes).
    server.register("eight@example.com", "éééééééé").await;
    assert_eq!(server.user_count().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_unknown_fields_are_422() {
    let server = TestServer::start().await;
    let before = server.user_count().await;
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "x@example.com" }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        error["details"]["fields"]["password"].is_string(),
        "{error}"
    );

    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "x@example.com", "password": PASSWORD, "is_admin": true }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        error["details"]["fields"]["is_admin"].is_string(),
        "{error}"
    );
    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_look_the_same() {
    let server = TestServer::start().await;
    server.register("real@example.com", PASSWORD).await;
    let tokens_before = server.token_count().await;

    let wrong = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "real@example.com", "password": "wrong password" }),
        )
        .await;
    let unknown = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "ghost@example.com", "password": PASSWORD }),
        )
        .await;
    let wrong_error = assert_status_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");
    let unknown_error = assert_status_error(&unknown, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(wrong_error["message"], unknown_error["message"]);
    assert_eq!(wrong.1, unknown.1, "the whole bodies must be identical");
    assert_eq!(server.token_count().await, tokens_before, "no token issued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_garbage_malformed_and_expired_tokens_are_401() {
    let server = TestServer::start().await;
    let (token, _) = server.register("tok@example.com", PASSWORD).await;

    let response = server.get("/api/auth/me", None).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");

    for header in [
        "Bearer nope",
        "Basic abc",
        "Bearer ",
        "Bearer",
        &format!("Token {token}"),
        &format!("Bearer {token}x"),
    ] {
        let response = server
            .client
            .get(server.url("/api/auth/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "{header}"
        );
        let response = common::read(response).await;
        assert_eq!(
            response.0,
            StatusCode::UNAUTHORIZED,
            "{header}: {}",
            response.1
        );
        assert_error(&response.1, "unauthorized");
    }

    // Still valid before expiry...
    let (status, _) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    // ...and refused once its expiry has passed.
    server
        .app
        .database()
        .write(|tx| {
            tx.execute(
                "UPDATE auth_tokens SET expires_at = '2000-01-01T00:00:00.000000Z'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let response = server.get("/api/auth/me", Some(&token)).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_hash_of_the_token_is_stored() {
    let server = TestServer::start().await;
    let (token, user) = server.register("hash@example.com", PASSWORD).await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let stored: Vec<String> = server
        .app
        .database()
        .read(move |conn| {
            let mut stmt = conn.prepare("SELECT token_hash FROM auth_tokens WHERE user_id = ?1")?;
            let rows = stmt
                .query_map([user_id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let hash = &stored[0];
    let secret = token.strip_prefix("tb_").unwrap();
    assert_ne!(hash, &token);
    assert!(!hash.contains(secret), "stored {hash} contains the token");
    assert!(
        !hash.contains(&secret[..16]),
        "stored {hash} contains part of the token"
    );
    assert_eq!(hash.len(), 64, "SHA-256 hex: {hash}");
    assert_eq!(hash, &tinybase::auth::token::hash(&token));

    // What a copy of the database holds logs nobody in: the stored hash, with or without
    // the token prefix, is refused as a bearer token, while the token itself works.
    let (status, _) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    for presented in [hash.clone(), format!("tb_{hash}"), hash.to_uppercase()] {
        let response = server.get("/api/auth/me", Some(&presented)).await;
        assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
        let response = server.get("/api/admin/users", Some(&presented)).await;
        assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // The password is stored hashed too.
    let email_hash: String = server
        .app
        .database()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT password_hash FROM users WHERE email = 'hash@example.com'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert!(email_hash.starts_with("$argon2id$"), "{email_hash}");
    assert!(!email_hash.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_email() {
    let server = TestServer::start_with(|s| s.auth.login_limit_per_email = 3).await;
    server.register("limited@example.com", PASSWORD).await;
    server.register("other@example.com", PASSWORD).await;

    // Three attempts are allowed, failed or not.
    for password in ["wrong one", "wrong two", PASSWORD] {
        let (status, body) = server
            .post(
                "/api/auth/login",
                None,
                json!({ "email": "limited@example.com", "password": password }),
            )
            .await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }

    // The fourth is refused, even with the right password and a differently spelled email.
    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .json(&json!({ "email": " LIMITED@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("retry-after header")
        .to_str()
        .unwrap()
        .parse()
        .expect("retry-after is whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let response = common::read(response).await;
    assert_status_error(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");

    // Another email from the same client is still allowed.
    server.login("other@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_client_ip_across_emails() {
    let server = TestServer::start_with(|s| {
        s.auth.login_limit_per_ip = 4;
        s.auth.login_limit_per_email = 0;
    })
    .await;
    server.register("ip@example.com", PASSWORD).await;
    let login = |client: reqwest::Client, email: &str, password: &str| {
        let request = client
            .post(server.url("/api/auth/login"))
            .json(&json!({ "email": email, "password": password }));
        async move { request.send().await.unwrap() }
    };
    let here = server.client.clone();

    // Four attempts from this address, each for another email (unknown ones, a wrong
    // password, the right one), are all answered.
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let response = common::read(login(here.clone(), email, "wrong password").await).await;
        assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let response = common::read(login(here.clone(), "ip@example.com", PASSWORD).await).await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);

    // The fifth is refused whatever the email and password.
    let refused = login(here.clone(), "ip@example.com", PASSWORD).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let response = common::read(refused).await;
    assert_status_error(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let response = common::read(login(here.clone(), "d@example.com", "x").await).await;
    assert_status_error(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");

    // Another client address has its own budget (127.0.0.2 is loopback too).
    let elsewhere = reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let response = common::read(login(elsewhere, "ip@example.com", PASSWORD).await).await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);
    // Registration from the limited address is not limited.
    server.register("later@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_of_zero_are_off() {
    let server = TestServer::start_with(|s| {
        s.auth.login_limit_per_ip = 0;
        s.auth.login_limit_per_email = 0;
    })
    .await;
    server.register("open@example.com", PASSWORD).await;
    for _ in 0..12 {
        let (status, body) = server
            .post(
                "/api/auth/login",
                None,
                json!({ "email": "open@example.com", "password": "wrong password" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    server.login("open@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_does_not_count_against_the_login_limits() {
    let server = TestServer::start_with(|s| {
        s.auth.login_limit_per_email = 1;
        s.auth.login_limit_per_ip = 1;
    })
    .await;
    for i in 0..3 {
        server
            .register(&format!("reg{i}@example.com"), PASSWORD)
            .await;
    }
    server.login("reg0@example.com", PASSWORD).await;
}

/// Sends one registration; returns the status and body.
async fn try_register(
    client: &reqwest::Client,
    server: &TestServer,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = client
        .post(server.url("/api/auth/register"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    common::read(response).await
}

/// A client whose connections come from `ip` (any 127.x.y.z address reaches the server).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_rate_limited_per_ip_by_default() {
    // The shipped defaults, not the test harness's.
    let server = TestServer::start_with(|s| s.auth = AuthSettings::default()).await;
    let limit = AuthSettings::default().registration_limit_per_ip;
    assert!((1..100).contains(&limit), "default limit {limit}");
    server.register("taken@example.com", PASSWORD).await;
    let attacker = client_from([127, 0, 0, 3]);

    // Successes, taken emails (409) and bad input (422) all count, up to the limit...
    let mut statuses = Vec::new();
    for i in 0..limit {
        let (email, password) = match i % 3 {
            0 => ("taken@example.com".to_owned(), PASSWORD),
            1 => (format!("short{i}@example.com"), "short"),
            _ => (format!("new{i}@example.com"), PASSWORD),
        };
        let (status, body) = try_register(&attacker, &server, &email, password).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "attempt {i}: {body}");
        statuses.push(status);
    }
    for expected in [
        StatusCode::CREATED,
        StatusCode::CONFLICT,
        StatusCode::UNPROCESSABLE_ENTITY,
    ] {
        assert!(statuses.contains(&expected), "{statuses:?}");
    }

    // ...and then every attempt from that address is refused before the email is looked at,
    // well before 100 a minute: a taken email no longer answers 409.
    let users = server.user_count().await;
    for (email, password) in [
        ("taken@example.com", PASSWORD),
        ("fresh@example.com", PASSWORD),
        ("bad", "x"),
    ] {
        let response = attacker
            .post(server.url("/api/auth/register"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        let retry_after: u64 = response
            .headers()
            .get("retry-after")
            .expect("retry-after header")
            .to_str()
            .unwrap()
            .parse()
            .expect("retry-after is whole seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let response = common::read(response).await;
        assert_status_error(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    assert_eq!(
        server.user_count().await,
        users,
        "a refused attempt created a user"
    );

    // Other addresses are not affected, nor is logging in from the limited one.
    let (status, body) = try_register(
        &client_from([127, 0, 0, 4]),
        &server,
        "other@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response = attacker
        .post(server.url("/api/auth/login"))
        .json(&json!({ "email": "taken@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_limit_follows_the_setting() {
    let server = TestServer::start_with(|s| s.auth.registration_limit_per_ip = 2).await;
    let client = client_from([127, 0, 0, 5]);
    for i in 0..2 {
        let (status, body) =
            try_register(&client, &server, &format!("u{i}@example.com"), PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let response = try_register(&client, &server, "u2@example.com", PASSWORD).await;
    assert_status_error(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let message = response.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("registrations"), "{message}");

    // 0 switches it off.
    let server = TestServer::start_with(|s| s.auth.registration_limit_per_ip = 0).await;
    for i in 0..25 {
        let (status, body) = try_register(&client, &server, &format!("bad{i}"), PASSWORD).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    server.register("after@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_registration_is_403_and_admins_still_create_users() {
    let server = TestServer::start_with(|s| s.auth.registration = Registration::Closed).await;
    let admin = server.admin_token().await;
    let before = server.user_count().await;
    for (email, password) in [
        ("new@example.com", PASSWORD),
        // A taken email gets the same answer: closed registration is no email oracle.
        (common::ADMIN_EMAIL, PASSWORD),
        ("not an email", "x"),
    ] {
        let response = server
            .post(
                "/api/auth/register",
                None,
                json!({ "email": email, "password": password }),
            )
            .await;
        let error = assert_status_error(&response, StatusCode::FORBIDDEN, "registration_closed");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("registration is closed"),
            "{error}"
        );
    }
    assert_eq!(server.user_count().await, before);

    let (status, body) = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({ "email": "invited@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.login("invited@example.com", PASSWORD).await;

    // Open (the default) really is open.
    let server = TestServer::start_with(|s| s.auth.registration = Registration::Open).await;
    server.register("new@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_users_token_is_refused_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (token, user) = server.register("gone@example.com", PASSWORD).await;
    let (status, _) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);

    let id = user["id"].as_str().unwrap();
    let (status, body) = server
        .delete(&format!("/api/admin/users/{id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let response = server.get("/api/auth/me", Some(&token)).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    // And the account's tokens went with it.
    let user_id = id.to_owned();
    let left: i64 = server
        .app
        .database()
        .read(move |conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM auth_tokens WHERE user_id = ?1",
                [user_id],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demoted_admins_token_loses_admin_rights_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (status, second) = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({ "email": "second@example.com", "password": PASSWORD, "is_admin": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second_token = server.login("second@example.com", PASSWORD).await;
    let (status, _) = server.get("/api/admin/users", Some(&second_token)).await;
    assert_eq!(status, StatusCode::OK);

    let id = second["id"].as_str().unwrap();
    let (status, body) = server
        .patch(
            &format!("/api/admin/users/{id}"),
            Some(&admin),
            json!({ "is_admin": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_admin"], false);

    let response = server.get("/api/admin/users", Some(&second_token)).await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    // Still signed in, just no longer an admin.
    let (status, me) = server.get("/api/auth/me", Some(&second_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["is_admin"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_revokes_every_other_session() {
    let server = TestServer::start().await;
    let (first, _) = server.register("mover@example.com", "old-password").await;
    let second = server.login("mover@example.com", "old-password").await;

    let (status, error) = server
        .post(
            "/api/auth/password",
            Some(&first),
            json!({"current_password": "wrong-password", "new_password": "new-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["error"]["details"]["fields"]["current_password"].is_string());
    let (status, _) = server.get("/api/auth/me", Some(&second)).await;
    assert_eq!(status, StatusCode::OK, "a refused change revokes nothing");

    let (status, error) = server
        .post(
            "/api/auth/password",
            Some(&first),
            json!({"current_password": "old-password", "new_password": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    let (status, session) = server
        .post(
            "/api/auth/password",
            Some(&first),
            json!({"current_password": "old-password", "new_password": "new-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let fresh = session["token"].as_str().unwrap();
    for old in [&first, &second] {
        let (status, _) = server.get("/api/auth/me", Some(old)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, me) = server.get("/api/auth/me", Some(fresh)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "mover@example.com");
    let (status, _) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": "mover@example.com", "password": "old-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.login("mover@example.com", "new-password").await;

    let (status, _) = server
        .post(
            "/api/auth/password",
            None,
            json!({"current_password": "x", "new_password": "yyyyyyyy"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
