//! Secrets of the account flows never reach the logs: mail tokens, TOTP secrets,
//! `mfa_token`s and sessions, even with debug logging on. (Six-digit TOTP codes are not
//! searched for: digits of timestamps would match them by chance.)
//!
//! This binary installs a global log subscriber that writes into memory; keep other
//! tests out of it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::TestServer;
use common::peers::MailSink;
use reqwest::StatusCode;
use serde_json::json;
use tinybase::config::SmtpTls;

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn account_secrets_stay_out_of_debug_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let sink = MailSink::start();
    let port = sink.port;
    let server = TestServer::start_with(move |s| {
        s.mail.smtp_host = Some("127.0.0.1".to_owned());
        s.mail.smtp_port = port;
        s.mail.smtp_tls = SmtpTls::None;
    })
    .await;
    let (first_session, _) = server.register("ann@example.com", "ann-password").await;
    let (status, _) = server
        .post(
            "/api/auth/password-reset/request",
            None,
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let reset = sink.wait_for("ann@example.com", 1).await.remove(0).token();
    let (status, _) = server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": reset, "new_password": "new-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A refused token is logged as rejected, without the token.
    server
        .post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": reset, "new_password": "new-password"}),
        )
        .await;

    let session = server.login("ann@example.com", "new-password").await;
    let (_, setup) = server
        .post("/api/auth/mfa/totp/setup", Some(&session), json!({}))
        .await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let code = totp.generate(now).to_string();
    let (status, _) = server
        .post(
            "/api/auth/mfa/totp/confirm",
            Some(&session),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .post(
            "/api/auth/login",
            None,
            json!({"email": "ann@example.com", "password": "new-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mfa_token = body["error"]["details"]["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = totp.generate(now + 30).to_string();
    let (status, signed_in) = server
        .post(
            "/api/auth/mfa/verify",
            None,
            json!({"mfa_token": mfa_token, "code": next}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let last_session = signed_in["token"].as_str().unwrap().to_owned();

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    // The logs were captured: the mail and the reset are in them.
    assert!(text.contains("mail sent"), "{text}");
    assert!(text.contains("password reset"), "{text}");
    assert!(text.contains("invalid_token"), "{text}");
    for (what, secret) in [
        ("reset token", &reset[3..]),
        ("TOTP secret", secret.as_str()),
        ("mfa_token", &mfa_token[3..]),
        ("first session", &first_session[3..]),
        ("session", &last_session[3..]),
    ] {
        assert!(!text.contains(secret), "the {what} is in the logs");
    }
}
