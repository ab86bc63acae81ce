//! OAuth2 / OpenID Connect sign-in against a real provider (oidc-provider under Node),
//! started by the test on 127.0.0.1 and driven like a browser: redirects followed by
//! hand, the provider's sign-in and consent forms posted, cookies kept.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::BTreeMap;

use common::TestServer;
use common::peers::{OidcProvider, free_port};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::config::{OAuth2Provider, Registration, Settings};

const CLIENT_ID: &str = "tinybase";
const CLIENT_SECRET: &str = "tinybase-secret";
pub(super) const APP: &str = "https://app.example.com/";
pub(super) const DONE: &str = "https://app.example.com/signed-in";

pub(super) struct World {
    pub(super) server: TestServer,
    pub(super) provider: OidcProvider,
    /// Whether TinyBase knows the provider by discovery (OpenID Connect: a nonce is sent)
    /// or by explicit endpoints (plain OAuth2: none).
    discovery: bool,
}

/// TinyBase with the provider `test` found by discovery at a real oidc-provider.
async fn world(tweak: impl FnOnce(&mut Settings)) -> World {
    world_with(
        |issuer| OAuth2Provider {
            display_name: Some("Test ID".to_owned()),
            issuer: Some(issuer.to_owned()),
            ..OAuth2Provider::default()
        },
        tweak,
    )
    .await
}

/// TinyBase with the provider `test` that `provider(issuer)` configures (name, client id
/// and secret added here), and a real oidc-provider at `issuer`.
pub(super) async fn world_with(
    provider: impl FnOnce(&str) -> OAuth2Provider,
    tweak: impl FnOnce(&mut Settings),
) -> World {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = OAuth2Provider {
        name: "test".to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.to_owned()),
        ..provider(&issuer)
    };
    let discovery = config.issuer.is_some();
    let server = TestServer::start_with(move |s| {
        s.auth.oauth2 = vec![config];
        s.auth.oauth2_redirect_urls = vec![APP.to_owned()];
        tweak(s);
    })
    .await;
    let callback = server.url("/api/auth/oauth2/test/callback");
    let provider = OidcProvider::start(port, CLIENT_ID, CLIENT_SECRET, &callback);
    World {
        server,
        provider,
        discovery,
    }
}

/// A browser: no automatic redirects, cookies kept by name.
pub(super) struct Browser {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub(super) fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        };
        let response = request.send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    pub(super) async fn get(&mut self, url: &str) -> reqwest::Response {
        let request = self.client.get(url);
        self.send(request).await
    }

    async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }
}

pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// What the provider does with the sign-in.
#[derive(Clone, Copy)]
pub(super) enum Choice<'a> {
    /// Sign in as this login (which is also the account's email) and consent.
    SignIn(&'a str),
    /// Cancel on the sign-in page.
    Deny,
}

/// Starts a sign-in and follows it through the provider; stops at TinyBase's callback
/// URL (not yet visited) and returns it.
pub(super) async fn through_provider(
    w: &World,
    browser: &mut Browser,
    choice: Choice<'_>,
) -> String {
    let start = w.server.url(&format!(
        "/api/auth/oauth2/test/start?redirect_to={}",
        encode(DONE)
    ));
    let response = browser.get(&start).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let mut next = location(&response);
    assert!(next.starts_with(&w.provider.issuer()), "{next}");
    assert!(next.contains("code_challenge_method=S256"), "{next}");
    assert_eq!(next.contains("nonce="), w.discovery, "{next}");
    assert!(next.contains("state=tb_"), "{next}");
    for _ in 0..20 {
        if next.starts_with(&w.server.base) {
            return next;
        }
        let response = browser.get(&next).await;
        if response.status().is_redirection() {
            next = absolute(&w.provider.issuer(), &location(&response));
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK, "{next}");
        let page = response.text().await.unwrap();
        let action = absolute(&w.provider.issuer(), &form_action(&page));
        let response = match (choice, page.contains("name=\"login\"")) {
            (Choice::Deny, _) => browser.get(&format!("{action}/abort")).await,
            (Choice::SignIn(login), true) => {
                browser
                    .post_form(
                        &action,
                        &[("prompt", "login"), ("login", login), ("password", "any")],
                    )
                    .await
            }
            (Choice::SignIn(_), false) => {
                browser.post_form(&action, &[("prompt", "consent")]).await
            }
        };
        assert!(response.status().is_redirection(), "{}", response.status());
        next = absolute(&w.provider.issuer(), &location(&response));
    }
    panic!("the sign-in did not come back to TinyBase");
}

fn form_action(page: &str) -> String {
    let start = page.find("action=\"").expect("a form") + "action=\"".len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn absolute(base: &str, url: &str) -> String {
    if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("{base}{url}")
    }
}

/// Visits TinyBase's callback; returns its status, its `Location` and its body.
pub(super) async fn callback(browser: &mut Browser, url: &str) -> (StatusCode, String, Value) {
    let response = browser.get(url).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, location, body)
}

/// A full sign-in as `login`; returns the exchange code from the app redirect.
pub(super) async fn sign_in(w: &World, login: &str) -> String {
    let mut browser = Browser::new();
    let url = through_provider(w, &mut browser, Choice::SignIn(login)).await;
    let (status, location, body) = callback(&mut browser, &url).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let code = location
        .strip_prefix(&format!("{DONE}?code="))
        .unwrap_or_else(|| panic!("{location}"));
    code.to_owned()
}

pub(super) async fn exchange(w: &World, code: &str) -> (StatusCode, Value) {
    w.server
        .post("/api/auth/oauth2/exchange", None, json!({ "code": code }))
        .await
}

pub(super) fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_new_user_signs_in_and_the_code_works_once() {
    let w = world(|_| {}).await;
    let (status, providers) = w.server.get("/api/auth/oauth2/providers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        providers,
        json!([{"name": "test", "display_name": "Test ID"}])
    );

    let users_before = w.server.user_count().await;
    let code = sign_in(&w, "alice@example.com").await;
    let (status, session) = exchange(&w, &code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], "alice@example.com");
    assert_eq!(session["user"]["email_verified"], true);
    let token = session["token"].as_str().unwrap();
    let (status, me) = w.server.get("/api/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.server.user_count().await, users_before + 1);

    let (status, body) = exchange(&w, &code).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_code")
    );

    // Again: the same account, no new one.
    let code = sign_in(&w, "alice@example.com").await;
    let (status, again) = exchange(&w, &code).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["user"]["id"], me["id"]);
    assert_eq!(w.server.user_count().await, users_before + 1);

    let (status, linked) = w
        .server
        .get("/api/auth/oauth2/identities", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert_eq!(linked[0]["provider"], "test");
    assert_eq!(linked[0]["email"], "alice@example.com");
}

#[tokio::test]
async fn an_existing_account_is_linked_only_by_a_verified_email() {
    let w = world(|_| {}).await;
    let admin = w.server.admin_token().await;
    let (_, bob) = w.server.register("bob@example.com", "bob-password").await;
    w.server
        .patch(
            &format!("/api/admin/users/{}", bob["id"].as_str().unwrap()),
            Some(&admin),
            json!({"email_verified": true}),
        )
        .await;
    let code = sign_in(&w, "bob@example.com").await;
    let (status, session) = exchange(&w, &code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["id"], bob["id"]);

    // Carol registered with a password but never verified: a provider account with her
    // address must not take her account over.
    w.server
        .register("carol@example.com", "carol-password")
        .await;
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::SignIn("carol@example.com")).await;
    let (status, _, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "email_in_use")
    );

    // Nor may an address the provider did not verify reach an existing account.
    let users = w.server.user_count().await;
    let code = sign_in(&w, "unverified.dan@example.com").await;
    let (status, session) = exchange(&w, &code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email_verified"], false);
    assert_eq!(w.server.user_count().await, users + 1);
}

#[tokio::test]
async fn a_replayed_or_made_up_callback_gets_no_session() {
    let w = world(|_| {}).await;
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::SignIn("erin@example.com")).await;
    let (status, _, _) = callback(&mut browser, &url).await;
    assert_eq!(status, StatusCode::FOUND);
    let (status, _, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed")
    );

    let made_up = w
        .server
        .url("/api/auth/oauth2/test/callback?state=tb_made_up&code=abc");
    let (status, _, body) = callback(&mut browser, &made_up).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed")
    );
    let (status, _, _) = callback(
        &mut browser,
        &w.server.url("/api/auth/oauth2/test/callback?code=abc"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Changes what TinyBase remembered about the sign-in in progress, as if the callback
/// belonged to another sign-in.
pub(super) async fn tamper(w: &World, field: &str, value: &str) {
    let sql = format!(
        "UPDATE one_time_tokens SET payload = json_set(payload, '$.{field}', ?1)
         WHERE kind = 'oauth2_state'"
    );
    let value = value.to_owned();
    let changed = w
        .server
        .app
        .database()
        .write(move |tx| Ok(tx.execute(&sql, [value])?))
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

#[tokio::test]
async fn a_pkce_or_nonce_mismatch_gets_no_session() {
    let w = world(|_| {}).await;
    let users = w.server.user_count().await;
    for (field, value) in [
        // Another verifier: the provider refuses the code.
        ("pkce_verifier", "x".repeat(43)),
        // Another nonce: the ID token does not belong to this sign-in.
        ("nonce", "0".repeat(64)),
    ] {
        let mut browser = Browser::new();
        let url = through_provider(&w, &mut browser, Choice::SignIn("frank@example.com")).await;
        tamper(&w, field, &value).await;
        let (status, location, body) = callback(&mut browser, &url).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "oauth2_failed"),
            "{field}: {location} {body}"
        );
    }
    assert_eq!(w.server.user_count().await, users);
}

#[tokio::test]
async fn a_refusal_at_the_provider_goes_back_with_the_error() {
    let w = world(|_| {}).await;
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::Deny).await;
    let (status, location, _) = callback(&mut browser, &url).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location, format!("{DONE}?error=access_denied"));
}

#[tokio::test]
async fn redirect_to_must_be_allowed_and_the_provider_known() {
    let w = world(|_| {}).await;
    for bad in [
        "https://evil.example.com/",
        "https://app.example.com.evil.io/",
        "//evil.example.com",
    ] {
        let (status, body) = w
            .server
            .get(
                &format!("/api/auth/oauth2/test/start?redirect_to={}", encode(bad)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"]["details"]["fields"]["redirect_to"].is_string());
    }
    let (status, _) = w
        .server
        .get(
            &format!("/api/auth/oauth2/nope/start?redirect_to={}", encode(DONE)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = w.server.get("/api/auth/oauth2/test/start", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provider_that_is_down_answers_503_until_it_is_up() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = TestServer::start_with(move |s| {
        s.auth.oauth2 = vec![OAuth2Provider {
            name: "test".to_owned(),
            issuer: Some(issuer),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            ..OAuth2Provider::default()
        }];
        s.auth.oauth2_redirect_urls = vec![APP.to_owned()];
    })
    .await;
    let start = format!("/api/auth/oauth2/test/start?redirect_to={}", encode(DONE));
    let (status, body) = server.get(&start, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "oauth2_provider_unavailable");
    let (_, providers) = server.get("/api/auth/oauth2/providers", None).await;
    assert_eq!(providers[0]["display_name"], "test");

    let provider = OidcProvider::start(
        port,
        CLIENT_ID,
        CLIENT_SECRET,
        &server.url("/api/auth/oauth2/test/callback"),
    );
    let response = Browser::new().get(&server.url(&start)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{}/auth?", provider.issuer())),
        "{to}"
    );
}

#[tokio::test]
async fn closed_registration_and_missing_emails_create_no_account() {
    let w = world(|s| s.auth.registration = Registration::Closed).await;
    let users = w.server.user_count().await;
    for (login, status, code) in [
        (
            "grace@example.com",
            StatusCode::FORBIDDEN,
            "registration_closed",
        ),
        (
            "noemail.heidi",
            StatusCode::UNPROCESSABLE_ENTITY,
            "oauth2_no_email",
        ),
    ] {
        let mut browser = Browser::new();
        let url = through_provider(&w, &mut browser, Choice::SignIn(login)).await;
        let (got, _, body) = callback(&mut browser, &url).await;
        assert_eq!((got, error_code(&body)), (status, code), "{login}: {body}");
    }
    assert_eq!(w.server.user_count().await, users);
}

#[tokio::test]
async fn expired_codes_and_unlinked_identities() {
    let w = world(|_| {}).await;
    let code = sign_in(&w, "ivan@example.com").await;
    w.server
        .app
        .database()
        .write(|tx| {
            tx.execute(
                "UPDATE one_time_tokens SET expires_at = '2000-01-01T00:00:00.000000Z'
                 WHERE kind = 'oauth2_exchange'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, body) = exchange(&w, &code).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_code")
    );

    let code = sign_in(&w, "ivan@example.com").await;
    let (_, session) = exchange(&w, &code).await;
    let token = session["token"].as_str().unwrap();
    let (status, _) = w
        .server
        .delete("/api/auth/oauth2/identities/test", Some(token))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = w
        .server
        .delete("/api/auth/oauth2/identities/test", Some(token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, linked) = w
        .server
        .get("/api/auth/oauth2/identities", Some(token))
        .await;
    assert_eq!(linked, json!([]));
}
