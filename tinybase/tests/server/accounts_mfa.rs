//! TOTP second factor: set-up, confirmation, sign-in with `mfa_required` and
//! `/api/auth/mfa/verify`, refusing a code twice, and the admin reset.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Builder, Secret, Totp};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "ann-password";

fn totp(secret: &str) -> Totp {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap()
}

/// The code of the time step `offset` steps from now.
fn code_at(secret: &str, offset: i64) -> String {
    let at = now().checked_add_signed(offset * 30).unwrap();
    totp(secret).generate(at).to_string()
}

/// A six-digit code that matches no step the server accepts now.
fn wrong_code(secret: &str) -> String {
    let valid: Vec<String> = (-2..=2).map(|o| code_at(secret, o)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", 123_456 + n))
        .find(|c| !valid.contains(c))
        .unwrap()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Registers Ann and turns TOTP on; returns her session and the secret.
async fn enrolled(server: &TestServer) -> (String, String) {
    let (session, _) = server.register(EMAIL, PASSWORD).await;
    let (status, setup) = server
        .post("/api/auth/mfa/totp/setup", Some(&session), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let (status, user) = server
        .post(
            "/api/auth/mfa/totp/confirm",
            Some(&session),
            json!({ "code": code_at(&secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["mfa_enabled"], true);
    (session, secret)
}

async fn mfa_token(server: &TestServer) -> String {
    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "mfa_required");
    assert!(body.get("token").is_none());
    body["error"]["details"]["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn verify(server: &TestServer, mfa_token: &str, code: &str) -> (StatusCode, Value) {
    server
        .post(
            "/api/auth/mfa/verify",
            None,
            json!({ "mfa_token": mfa_token, "code": code }),
        )
        .await
}

#[tokio::test]
async fn set_up_needs_a_right_code_before_it_counts() {
    let server = TestServer::start().await;
    let (session, _) = server.register(EMAIL, PASSWORD).await;
    let (status, _) = server
        .post("/api/auth/mfa/totp/setup", None, json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server
        .post(
            "/api/auth/mfa/totp/confirm",
            Some(&session),
            json!({"code": "123456"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "mfa_not_set_up")
    );

    let (status, setup) = server
        .post("/api/auth/mfa/totp/setup", Some(&session), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = setup["secret"].as_str().unwrap();
    let url = setup["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    assert!(url.contains("ann%40example.com"), "{url}");
    assert_eq!(
        Secret::try_from_base32(secret).unwrap().as_bytes().len(),
        20
    );

    // Not on yet: a password alone still signs in.
    server.login(EMAIL, PASSWORD).await;
    for bad in [wrong_code(secret), "12345".to_owned(), "abcdef".to_owned()] {
        let (status, body) = server
            .post(
                "/api/auth/mfa/totp/confirm",
                Some(&session),
                json!({ "code": bad }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["details"]["fields"]["code"].is_string());
    }
    let (status, user) = server
        .post(
            "/api/auth/mfa/totp/confirm",
            Some(&session),
            json!({ "code": code_at(secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["mfa_enabled"], true);
    let (status, body) = server
        .post("/api/auth/mfa/totp/setup", Some(&session), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "mfa_already_enabled")
    );
}

#[tokio::test]
async fn sign_in_takes_a_fresh_code_once() {
    let server = TestServer::start().await;
    let (_, secret) = enrolled(&server).await;

    // A wrong password gets the plain answer, no mfa_token.
    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": EMAIL, "password": "wrong-password"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    let token = mfa_token(&server).await;
    // The code that confirmed set-up is spent.
    let (status, body) = verify(&server, &token, &code_at(&secret, 0)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    let next = code_at(&secret, 1);
    let (status, session) = verify(&server, &token, &next).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], EMAIL);
    let (status, _) = server
        .get("/api/auth/me", Some(session["token"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The mfa_token works once; the code works once.
    let (status, body) = verify(&server, &token, &next).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_token")
    );
    let again = mfa_token(&server).await;
    let (status, body) = verify(&server, &again, &next).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    let (status, body) = verify(&server, "tb_made_up", &next).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_token")
    );
}

#[tokio::test]
async fn a_sign_in_stops_after_a_few_wrong_codes() {
    let server = TestServer::start().await;
    let (_, secret) = enrolled(&server).await;
    let token = mfa_token(&server).await;
    for _ in 0..5 {
        let (status, body) = verify(&server, &token, &wrong_code(&secret)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = verify(&server, &token, &code_at(&secret, 1)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_token")
    );
}

/// A user turns TOTP off with a code (a session alone is not enough); a wrong or used
/// code changes nothing, and a recovery code works as well.
#[tokio::test]
async fn users_turn_their_own_totp_off_with_a_code() {
    let server = TestServer::start().await;
    let path = "/api/auth/mfa/totp/disable";
    let (bob, _) = server.register("bob@example.com", PASSWORD).await;
    let (status, body) = server
        .post(path, Some(&bob), json!({"code": "123456"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "mfa_not_enabled")
    );

    let (session, secret) = enrolled(&server).await;
    let (status, _) = server
        .post(path, None, json!({"code": code_at(&secret, 1)}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The code that confirmed set-up is spent; a wrong one is wrong.
    for refused in [code_at(&secret, 0), wrong_code(&secret)] {
        let (status, body) = server
            .post(path, Some(&session), json!({ "code": refused }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["details"]["fields"]["code"].is_string(),
            "{body}"
        );
    }
    let pending = mfa_token(&server).await;

    let (status, user) = server
        .post(path, Some(&session), json!({"code": code_at(&secret, 1)}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["mfa_enabled"], false);
    server.login(EMAIL, PASSWORD).await;
    let (status, body) = verify(&server, &pending, &code_at(&secret, 1)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_token")
    );

    // On again, and off with a recovery code.
    let (_, setup) = server
        .post("/api/auth/mfa/totp/setup", Some(&session), json!({}))
        .await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let (status, _) = server
        .post(
            "/api/auth/mfa/totp/confirm",
            Some(&session),
            json!({ "code": code_at(&secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, codes) = server
        .post("/api/auth/mfa/recovery-codes", Some(&session), json!({}))
        .await;
    let (status, user) = server
        .post(path, Some(&session), json!({ "code": codes["codes"][3] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["mfa_enabled"], false);
}

#[tokio::test]
async fn admins_reset_a_lost_second_factor() {
    let server = TestServer::start().await;
    let (session, secret) = enrolled(&server).await;
    let (_, me) = server.get("/api/auth/me", Some(&session)).await;
    let path = format!("/api/admin/users/{}/mfa", me["id"].as_str().unwrap());
    let pending = mfa_token(&server).await;

    let (status, _) = server.delete(&path, Some(&session)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = server.admin_token().await;
    let (status, user) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["mfa_enabled"], false);
    let (status, _) = server
        .delete(
            "/api/admin/users/01900000-0000-7000-8000-000000000000/mfa",
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The password alone signs in again; a sign-in that was waiting for a code is over.
    server.login(EMAIL, PASSWORD).await;
    let (status, body) = verify(&server, &pending, &code_at(&secret, 1)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_token")
    );
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each() {
    let server = TestServer::start().await;
    let (session, _) = server.register("bob@example.com", PASSWORD).await;
    let path = "/api/auth/mfa/recovery-codes";
    let (status, body) = server.post(path, Some(&session), json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "mfa_not_enabled")
    );

    let (session, _) = enrolled(&server).await;
    let (status, first) = server.post(path, Some(&session), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let first: Vec<String> = serde_json::from_value(first["codes"].clone()).unwrap();
    assert_eq!(first.len(), 10);
    let (_, second) = server.post(path, Some(&session), json!({})).await;
    let second: Vec<String> = serde_json::from_value(second["codes"].clone()).unwrap();
    assert!(first.iter().all(|c| !second.contains(c)));

    // Codes made earlier stopped working when new ones were made.
    let token = mfa_token(&server).await;
    let (status, body) = verify(&server, &token, &first[0]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    let (status, signed_in) = verify(&server, &token, &second[0].to_uppercase()).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let again = mfa_token(&server).await;
    let (status, body) = verify(&server, &again, &second[0]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    let (status, _) = verify(&server, &again, &second[1]).await;
    assert_eq!(status, StatusCode::OK);

    // Stored only as hashes.
    let stored: String = server
        .app
        .database()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT totp_recovery_codes FROM users WHERE email = ?1",
                [EMAIL],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap();
    assert!(
        second.iter().all(|c| !stored.contains(c.as_str())),
        "{stored}"
    );
    assert!(stored.contains(&tinybase::auth::token::hash(&second[2])));
}
