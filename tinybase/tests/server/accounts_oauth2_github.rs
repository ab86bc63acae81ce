//! The GitHub preset end to end. Its endpoints are pointed (explicit keys override the
//! preset) at a small stand-in for GitHub on 127.0.0.1, the outside party of this test:
//! it speaks GitHub's OAuth app and REST shapes as documented — the client secret as a
//! form field, a JSON token answer only with `Accept: application/json` (a form-encoded one
//! otherwise), errors as 200 `{"error": …}`, PKCE S256, a `User-Agent` required, a
//! numeric `id`, and the address list `[{email, verified, primary}]` from a second
//! endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode as Status, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tinybase::config::{OAuth2Preset, OAuth2Provider};

use super::accounts_oauth2::{APP, Browser, DONE, callback, encode, error_code, location};
use crate::common::TestServer;

const CLIENT_ID: &str = "Iv1.gh-client";
const CLIENT_SECRET: &str = "gh-secret";

/// An account at the stand-in: numeric id, public profile email, address list.
struct Account {
    id: u64,
    public_email: Option<&'static str>,
    emails: Value,
}

fn account(login: &str) -> Account {
    match login {
        "octo" => Account {
            id: 583_231,
            public_email: None,
            emails: json!([
                {"email": "octo@example.com", "verified": true, "primary": true, "visibility": "private"},
                {"email": "octo@users.noreply.github.com", "verified": true, "primary": false, "visibility": null},
            ]),
        },
        "lin" => Account {
            id: 100,
            public_email: Some("lin@example.com"),
            emails: json!([{"email": "lin@example.com", "verified": true, "primary": true}]),
        },
        // The primary address is unverified; an older, verified one is public.
        "mona" => Account {
            id: 200,
            public_email: Some("mona-old@example.com"),
            emails: json!([
                {"email": "mona@example.com", "verified": false, "primary": true},
                {"email": "mona-old@example.com", "verified": true, "primary": false},
            ]),
        },
        "newbie" => Account {
            id: 300,
            public_email: None,
            emails: json!([{"email": "newbie@example.com", "verified": false, "primary": true}]),
        },
        other => panic!("no account {other}"),
    }
}

struct Grant {
    login: String,
    redirect_uri: String,
    challenge: String,
}

#[derive(Default)]
struct GitHubState {
    /// Who is signed in at "GitHub" when the browser arrives.
    signed_in: String,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, String>,
    issued: u64,
}

type Shared = Arc<Mutex<GitHubState>>;

struct GitHub {
    base: String,
    state: Shared,
}

impl GitHub {
    async fn start() -> Self {
        let state = Shared::default();
        let app = axum::Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    fn sign_in_as(&self, login: &str) {
        self.state.lock().unwrap().signed_in = login.to_owned();
    }

    /// The `github` preset with every endpoint here.
    fn provider(&self, client_secret: &str) -> OAuth2Provider {
        OAuth2Provider {
            preset: Some(OAuth2Preset::Github),
            auth_url: Some(format!("{}/login/oauth/authorize", self.base)),
            token_url: Some(format!("{}/login/oauth/access_token", self.base)),
            userinfo_url: Some(format!("{}/user", self.base)),
            emails_url: Some(format!("{}/user/emails", self.base)),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(client_secret.to_owned()),
            ..OAuth2Provider::default()
        }
    }
}

async fn authorize(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let q = |k: &str| query.get(k).cloned().unwrap_or_default();
    let scopes: Vec<String> = q("scope").split(' ').map(str::to_owned).collect();
    if q("client_id") != CLIENT_ID
        || q("response_type") != "code"
        || q("code_challenge_method") != "S256"
        || !scopes.contains(&"user:email".to_owned())
        || q("state").is_empty()
    {
        return (
            Status::BAD_REQUEST,
            format!("bad authorize request {query:?}"),
        )
            .into_response();
    }
    let mut state = state.lock().unwrap();
    state.issued += 1;
    let code = format!("ghcode{}", state.issued);
    let grant = Grant {
        login: state.signed_in.clone(),
        redirect_uri: q("redirect_uri"),
        challenge: q("code_challenge"),
    };
    state.codes.insert(code.clone(), grant);
    let to = format!(
        "{}?code={code}&state={}",
        q("redirect_uri"),
        encode(&q("state"))
    );
    (Status::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn access_token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = openidconnect::url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let f = |k: &str| form.get(k).cloned().unwrap_or_default();
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let answer = |fields: Vec<(&str, String)>| {
        if wants_json {
            let map: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect();
            axum::Json(Value::Object(map)).into_response()
        } else {
            let text = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            (
                [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
                text,
            )
                .into_response()
        }
    };
    let error = |code: &str| answer(vec![("error", code.to_owned())]);
    if f("client_id") != CLIENT_ID || f("client_secret") != CLIENT_SECRET {
        return error("incorrect_client_credentials");
    }
    let mut state = state.lock().unwrap();
    let Some(grant) = state.codes.remove(&f("code")) else {
        return error("bad_verification_code");
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(f("code_verifier").as_bytes()));
    if grant.redirect_uri != f("redirect_uri") {
        return error("redirect_uri_mismatch");
    }
    if challenge != grant.challenge {
        return error("bad_verification_code");
    }
    state.issued += 1;
    let token = format!("gho_{}", state.issued);
    state.tokens.insert(token.clone(), grant.login);
    answer(vec![
        ("access_token", token),
        ("scope", "read:user,user:email".to_owned()),
        ("token_type", "bearer".to_owned()),
    ])
}

/// The account the request's token belongs to, or GitHub's refusal.
fn caller(state: &Shared, headers: &HeaderMap) -> Result<Account, Box<Response>> {
    if !headers.contains_key(header::USER_AGENT) {
        let refusal = (
            Status::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has \
             a User-Agent header",
        );
        return Err(Box::new(refusal.into_response()));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .unwrap_or_default();
    let login = state.lock().unwrap().tokens.get(token).cloned();
    match login {
        Some(login) => Ok(account(&login)),
        None => {
            let refusal = (
                Status::UNAUTHORIZED,
                axum::Json(json!({"message": "Bad credentials"})),
            );
            Err(Box::new(refusal.into_response()))
        }
    }
}

async fn user(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&state, &headers) {
        Ok(account) => axum::Json(json!({
            "login": "someone",
            "id": account.id,
            "email": account.public_email,
        }))
        .into_response(),
        Err(refusal) => *refusal,
    }
}

async fn emails(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&state, &headers) {
        Ok(account) => axum::Json(account.emails).into_response(),
        Err(refusal) => *refusal,
    }
}

async fn world(client_secret: &str) -> (TestServer, GitHub) {
    let github = GitHub::start().await;
    let provider = github.provider(client_secret);
    let server = TestServer::start_with(move |s| {
        s.auth.oauth2 = vec![provider];
        s.auth.oauth2_redirect_urls = vec![APP.to_owned()];
    })
    .await;
    (server, github)
}

/// The whole redirect flow as `login` at GitHub; TinyBase's callback answer.
async fn through_github(
    server: &TestServer,
    github: &GitHub,
    login: &str,
) -> (StatusCode, String, Value) {
    github.sign_in_as(login);
    let mut browser = Browser::new();
    let start = server.url(&format!(
        "/api/auth/oauth2/github/start?redirect_to={}",
        encode(DONE)
    ));
    let response = browser.get(&start).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let to_github = location(&response);
    assert!(
        to_github.starts_with(&format!("{}/login/oauth/authorize?", github.base)),
        "{to_github}"
    );
    assert!(
        to_github.contains("scope=read%3Auser+user%3Aemail"),
        "{to_github}"
    );
    assert!(!to_github.contains("nonce="), "{to_github}");
    let response = browser.get(&to_github).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{to_github}");
    let back = location(&response);
    assert!(
        back.starts_with(&server.url("/api/auth/oauth2/github/callback?")),
        "{back}"
    );
    callback(&mut browser, &back).await
}

async fn signed_in(server: &TestServer, github: &GitHub, login: &str) -> Value {
    let (status, location, body) = through_github(server, github, login).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let code = location
        .strip_prefix(&format!("{DONE}?code="))
        .unwrap_or_else(|| panic!("{location}"));
    let (status, session) = exchange_on(server, code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session
}

async fn exchange_on(server: &TestServer, code: &str) -> (StatusCode, Value) {
    server
        .post("/api/auth/oauth2/exchange", None, json!({ "code": code }))
        .await
}

#[tokio::test]
async fn github_users_sign_in_with_their_verified_primary_email() {
    let (server, github) = world(CLIENT_SECRET).await;
    let (_, providers) = server.get("/api/auth/oauth2/providers", None).await;
    assert_eq!(
        providers,
        json!([{"name": "github", "display_name": "GitHub"}])
    );

    let users = server.user_count().await;
    let session = signed_in(&server, &github, "octo").await;
    assert_eq!(session["user"]["email"], "octo@example.com");
    assert_eq!(session["user"]["email_verified"], true);
    assert_eq!(server.user_count().await, users + 1);
    let again = signed_in(&server, &github, "octo").await;
    assert_eq!(again["user"]["id"], session["user"]["id"]);
    assert_eq!(server.user_count().await, users + 1);

    // A verified account with GitHub's verified primary address is linked, not copied.
    let admin = server.admin_token().await;
    let (_, lin) = server.register("lin@example.com", "lin-password").await;
    let lin_id = lin["id"].as_str().unwrap();
    server
        .patch(
            &format!("/api/admin/users/{lin_id}"),
            Some(&admin),
            json!({"email_verified": true}),
        )
        .await;
    let session = signed_in(&server, &github, "lin").await;
    assert_eq!(session["user"]["id"], lin["id"]);
    let (status, linked) = server
        .get(
            &format!("/api/admin/users/{lin_id}/identities"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert_eq!(linked[0]["provider"], "github");
    assert_eq!(linked[0]["email"], "lin@example.com");
}

#[tokio::test]
async fn only_a_verified_primary_github_email_links_or_counts_as_verified() {
    let (server, github) = world(CLIENT_SECRET).await;
    let admin = server.admin_token().await;
    let mut ids = Vec::new();
    for email in ["mona@example.com", "mona-old@example.com"] {
        let (_, user) = server.register(email, "mona-password").await;
        let id = user["id"].as_str().unwrap().to_owned();
        server
            .patch(
                &format!("/api/admin/users/{id}"),
                Some(&admin),
                json!({"email_verified": true}),
            )
            .await;
        ids.push(id);
    }
    // Mona's primary address is unverified at GitHub; her verified secondary (and public)
    // address does not count either.
    let users = server.user_count().await;
    let (status, location, body) = through_github(&server, &github, "mona").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "email_in_use"),
        "{location}"
    );
    assert_eq!(server.user_count().await, users);
    for id in &ids {
        let (_, linked) = server
            .get(&format!("/api/admin/users/{id}/identities"), Some(&admin))
            .await;
        assert_eq!(linked, json!([]));
    }

    // A new account from an unverified primary address is created unverified.
    let session = signed_in(&server, &github, "newbie").await;
    assert_eq!(session["user"]["email"], "newbie@example.com");
    assert_eq!(session["user"]["email_verified"], false);
    assert_eq!(server.user_count().await, users + 1);
}

#[tokio::test]
async fn a_client_secret_github_refuses_signs_nobody_in() {
    let (server, github) = world("not-the-secret").await;
    let users = server.user_count().await;
    let (status, location, body) = through_github(&server, &github, "octo").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed"),
        "{location}"
    );
    assert_eq!(server.user_count().await, users);
}
