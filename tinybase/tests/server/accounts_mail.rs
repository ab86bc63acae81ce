//! Account flows that go through a mail — verification, password reset, email change —
//! against a real SMTP server (aiosmtpd) that the test starts on 127.0.0.1 and whose
//! received mails the test reads.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::TestServer;
use common::peers::{Mail, MailSink};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::config::{Settings, SmtpTls};

const PASSWORD: &str = "first-password";

fn use_sink(settings: &mut Settings, port: u16) {
    settings.mail.smtp_host = Some("127.0.0.1".to_owned());
    settings.mail.smtp_port = port;
    settings.mail.smtp_tls = SmtpTls::None;
    settings.mail.from = "Shop <noreply@shop.example.com>".to_owned();
    settings.mail.app_url = "https://shop.example.com/".to_owned();
    settings.mail.app_name = "Shop".to_owned();
    // Most tests send more mails a minute than the default allows; the limit's own test
    // sets it back.
    settings.auth.mail_limit_per_email = 0;
    settings.auth.mail_limit_per_ip = 0;
}

async fn with_mail(tweak: impl FnOnce(&mut Settings)) -> (TestServer, MailSink) {
    let sink = MailSink::start();
    let port = sink.port;
    let server = TestServer::start_with(move |s| {
        use_sink(s, port);
        tweak(s);
    })
    .await;
    (server, sink)
}

async fn request(server: &TestServer, path: &str, email: &str) {
    let (status, body) = server.post(path, None, json!({ "email": email })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
}

/// The one mail among `mails` whose token is not in `seen`.
fn newest(mails: &[Mail], seen: &[String]) -> Mail {
    let fresh: Vec<&Mail> = mails
        .iter()
        .filter(|m| !seen.contains(&m.token()))
        .collect();
    assert_eq!(fresh.len(), 1, "{mails:?}");
    fresh[0].clone()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn without_a_mail_server_the_request_endpoints_answer_503() {
    let server = TestServer::start().await;
    let (token, _) = server.register("ann@example.com", PASSWORD).await;
    for (path, auth, body) in [
        (
            "/api/auth/verification/request",
            None,
            json!({"email": "ann@example.com"}),
        ),
        (
            "/api/auth/password-reset/request",
            None,
            json!({"email": "ann@example.com"}),
        ),
        (
            "/api/auth/email-change/request",
            Some(token.as_str()),
            json!({"new_email": "new@example.com"}),
        ),
    ] {
        let (status, body) = server.post(path, auth, body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(code(&body), "mail_not_configured", "{path}");
    }
    // Confirming needs no mail server; a made-up token is simply not valid.
    let (status, body) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({"token": "tb_made_up"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_token");
}

#[tokio::test]
async fn verification_mail_verifies_the_email_once() {
    let (server, sink) = with_mail(|_| {}).await;
    let (_, user) = server.register("ann@example.com", PASSWORD).await;
    assert_eq!(user["email_verified"], false);

    request(
        &server,
        "/api/auth/verification/request",
        " Ann@Example.com ",
    )
    .await;
    let mail = sink.wait_for("ann@example.com", 1).await.remove(0);
    assert_eq!(mail.subject, "Verify your email for Shop");
    let token = mail.token();
    assert!(token.starts_with("tb_"), "{token}");
    let text = mail.text.as_deref().unwrap();
    assert!(
        text.contains(&format!(
            "https://shop.example.com/verify-email?token={token}"
        )),
        "{text}"
    );
    assert!(mail.html.as_deref().unwrap().contains(&token));

    let (status, body) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["email_verified"], true);

    // Single use.
    let (status, body) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_token");

    // A verified user gets no more verification mails; a reset mail to the same address
    // afterwards shows the queue has moved on.
    request(&server, "/api/auth/verification/request", "ann@example.com").await;
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let mails = sink.wait_for("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().any(|m| m.subject.contains("password")));
}

#[tokio::test]
async fn unknown_emails_get_the_same_answer_and_no_mail() {
    let (server, sink) = with_mail(|_| {}).await;
    server.register("ann@example.com", PASSWORD).await;
    for path in [
        "/api/auth/verification/request",
        "/api/auth/password-reset/request",
    ] {
        request(&server, path, "nobody@example.com").await;
    }
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    sink.wait_for("ann@example.com", 1).await;
    assert!(sink.mails_to("nobody@example.com").is_empty());
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test]
async fn a_newer_token_voids_the_older_and_kinds_do_not_mix() {
    let (server, sink) = with_mail(|_| {}).await;
    server.register("ann@example.com", PASSWORD).await;
    request(&server, "/api/auth/verification/request", "ann@example.com").await;
    let first = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    request(&server, "/api/auth/verification/request", "ann@example.com").await;
    let mails = sink.wait_for("ann@example.com", 2).await;
    let second = newest(&mails, std::slice::from_ref(&first)).token();
    assert_ne!(first, second);

    let (status, body) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": first }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );

    // A verification token is no password-reset token, and trying does not spend it.
    let (status, body) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": second, "new_password": "another-password" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
    let (status, body) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": second }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let (server, sink) = with_mail(|_| {}).await;
    server.register("ann@example.com", PASSWORD).await;
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let token = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    let stored: Vec<String> = server
        .app
        .database()
        .read(|conn| {
            let mut statement =
                conn.prepare("SELECT token_hash || ' ' || payload FROM one_time_tokens")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(!stored[0].contains(&token[3..]), "{stored:?}");
    assert!(stored[0].starts_with(&tinybase::auth::token::hash(&token)));
}

#[tokio::test]
async fn password_reset_sets_the_password_and_ends_every_session() {
    let (server, sink) = with_mail(|_| {}).await;
    let (session_one, _) = server.register("ann@example.com", PASSWORD).await;
    let session_two = server.login("ann@example.com", PASSWORD).await;

    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let mail = sink.wait_for("ann@example.com", 1).await.remove(0);
    assert_eq!(mail.subject, "Reset your Shop password");
    let token = mail.token();
    assert!(mail.text.as_deref().unwrap().contains(&format!(
        "https://shop.example.com/reset-password?token={token}"
    )));

    // A bad new password changes nothing and leaves the token usable.
    let (status, body) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": token, "new_password": "short" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["details"]["fields"]["new_password"].is_string());
    let (status, _) = server.get("/api/auth/me", Some(&session_one)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": token, "new_password": "second-password" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for session in [&session_one, &session_two] {
        let (status, _) = server.get("/api/auth/me", Some(session)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let session = server.login("ann@example.com", "second-password").await;
    let (_, me) = server.get("/api/auth/me", Some(&session)).await;
    // The mail reached her: the address counts as verified now.
    assert_eq!(me["email_verified"], true);

    let (status, body) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": token, "new_password": "third-password" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let (server, sink) = with_mail(|_| {}).await;
    server.register("ann@example.com", PASSWORD).await;
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let token = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    // An hour later, as far as the token is concerned.
    server
        .app
        .database()
        .write(|tx| {
            tx.execute(
                "UPDATE one_time_tokens SET expires_at = '2000-01-01T00:00:00.000000Z'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, body) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({ "token": token, "new_password": "second-password" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_expired")
    );
    server.login("ann@example.com", PASSWORD).await;
}

#[tokio::test]
async fn email_change_mails_the_new_address_and_moves_the_account() {
    let (server, sink) = with_mail(|_| {}).await;
    let (token, _) = server.register("ann@example.com", PASSWORD).await;
    server.register("taken@example.com", PASSWORD).await;
    let path = "/api/auth/email-change/request";

    let (status, _) = server
        .post(path, None, json!({"new_email": "new@example.com"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (bad, why) in [
        ("not-an-email", "must be an email"),
        ("ann@example.com", "already the email"),
    ] {
        let (status, body) = server
            .post(path, Some(&token), json!({ "new_email": bad }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["error"]["details"]["fields"]["new_email"]
            .as_str()
            .unwrap();
        assert!(message.contains(why), "{message}");
    }
    // Another account's address: the same 204, and that account gets no mail.
    let (status, _) = server
        .post(
            path,
            Some(&token),
            json!({"new_email": "Taken@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _) = server
        .post(path, Some(&token), json!({"new_email": "New@Example.com"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mail = sink.wait_for("new@example.com", 1).await.remove(0);
    assert!(sink.mails_to("taken@example.com").is_empty());
    assert!(sink.mails_to("ann@example.com").is_empty());
    let change = mail.token();
    assert!(
        mail.text
            .as_deref()
            .unwrap()
            .contains("https://shop.example.com/confirm-email-change?token=")
    );

    let (status, user) = server
        .post(
            "/api/auth/email-change/confirm",
            None,
            json!({ "token": change }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["email_verified"], true);
    server.login("new@example.com", PASSWORD).await;
    let (status, _) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn email_change_refuses_an_address_taken_in_the_meantime() {
    let (server, sink) = with_mail(|_| {}).await;
    let (token, _) = server.register("ann@example.com", PASSWORD).await;
    let (status, _) = server
        .post(
            "/api/auth/email-change/request",
            Some(&token),
            json!({"new_email": "new@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let change = sink.wait_for("new@example.com", 1).await.remove(0).token();
    server.register("new@example.com", PASSWORD).await;
    let (status, body) = server
        .post(
            "/api/auth/email-change/confirm",
            None,
            json!({ "token": change }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, me) = server.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me["email"], "ann@example.com");
}

#[tokio::test]
async fn required_verification_blocks_login_until_verified() {
    let (server, sink) = with_mail(|s| s.auth.require_verified_email = true).await;
    server.register("ann@example.com", PASSWORD).await;
    let login = |password: &'static str| {
        server.post(
            "/api/auth/login",
            None,
            json!({"email": "ann@example.com", "password": password}),
        )
    };
    let (status, body) = login(PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "email_not_verified");
    // A wrong password says nothing about the account.
    let (status, body) = login("wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    request(&server, "/api/auth/verification/request", "ann@example.com").await;
    let token = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    let (status, _) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The first admin was set up by the operator and is not locked out.
    server.admin_token().await;
}

#[tokio::test]
async fn admins_can_mark_an_email_verified() {
    let (server, _sink) = with_mail(|_| {}).await;
    let admin = server.admin_token().await;
    let (_, user) = server.register("ann@example.com", PASSWORD).await;
    let path = format!("/api/admin/users/{}", user["id"].as_str().unwrap());
    let (status, body) = server
        .patch(&path, Some(&admin), json!({"email_verified": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email_verified"], true);
    let (status, body) = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({"email": "bob@example.com", "password": PASSWORD, "email_verified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email_verified"], true);
}

#[tokio::test]
async fn mail_requests_are_rate_limited_per_address() {
    let (server, _sink) = with_mail(|s| {
        s.auth.mail_limit_per_email = 2;
        s.auth.mail_limit_per_ip = 50;
    })
    .await;
    // Unknown addresses count like known ones: the limit reveals nothing either.
    for path in [
        "/api/auth/verification/request",
        "/api/auth/password-reset/request",
    ] {
        request(&server, path, "nobody@example.com").await;
    }
    let response = server
        .request(
            reqwest::Method::POST,
            "/api/auth/password-reset/request",
            None,
        )
        .json(&json!({"email": "NOBODY@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "rate_limited");
    // Another address is not held back.
    request(
        &server,
        "/api/auth/password-reset/request",
        "other@example.com",
    )
    .await;
}

#[tokio::test]
async fn mail_template_files_replace_the_built_in_texts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("password_reset.subject.txt"),
        "{{app_name}}: new password for {{email}}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("password_reset.txt"),
        "Go to {{link}} (code {{token}})",
    )
    .unwrap();
    let templates = dir.path().to_path_buf();
    let (server, sink) = with_mail(move |s| s.mail.templates_dir = Some(templates)).await;
    server.register("ann@example.com", PASSWORD).await;
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let mail = sink.wait_for("ann@example.com", 1).await.remove(0);
    assert_eq!(mail.subject, "Shop: new password for ann@example.com");
    let token = mail.token();
    assert_eq!(
        mail.text.as_deref().unwrap().trim_end(),
        format!("Go to https://shop.example.com/reset-password?token={token} (code {token})")
    );
    // The HTML part was not overridden: the built-in one is used.
    assert!(
        mail.html
            .as_deref()
            .unwrap()
            .contains("Choose a new password")
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_at_first_still_gets_the_mail() {
    let port = common::peers::free_port();
    let server = TestServer::start_with(move |s| use_sink(s, port)).await;
    server.register("ann@example.com", PASSWORD).await;
    // Nothing listens on the port yet: the request is answered all the same.
    request(
        &server,
        "/api/auth/password-reset/request",
        "ann@example.com",
    )
    .await;
    let sink = MailSink::start_on(Some(port));
    let mail = sink.wait_for("ann@example.com", 1).await.remove(0);
    assert!(mail.subject.contains("password"));
}

#[tokio::test]
async fn admins_send_a_verification_mail() {
    let (server, sink) = with_mail(|_| {}).await;
    let admin = server.admin_token().await;
    let (ann, user) = server.register("ann@example.com", PASSWORD).await;
    let path = format!(
        "/api/admin/users/{}/verification",
        user["id"].as_str().unwrap()
    );
    let (status, _) = server.post(&path, Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server.post(&path, Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let token = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    let (status, _) = server
        .post(
            "/api/auth/verification/confirm",
            None,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.post(&path, Some(&admin), json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "email_already_verified")
    );
    let (status, _) = server
        .post(
            "/api/admin/users/01900000-0000-7000-8000-000000000000/verification",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
