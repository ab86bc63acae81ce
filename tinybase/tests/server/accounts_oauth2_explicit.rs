//! Plain OAuth2 sign-in through explicit endpoints (`auth_url`, `token_url`,
//! `userinfo_url`, no discovery and no ID token), against the same real oidc-provider as
//! `accounts_oauth2`: its authorization, token and userinfo endpoints configured by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::config::{OAuth2Provider, Settings};

use super::accounts_oauth2::{
    Browser, Choice, DONE, World, callback, encode, error_code, exchange, location, sign_in,
    tamper, through_provider, world_with,
};

/// TinyBase with `test` pointing at oidc-provider's endpoints by hand.
async fn world(tweak: impl FnOnce(&mut Settings)) -> World {
    world_with(
        |issuer| OAuth2Provider {
            auth_url: Some(format!("{issuer}/auth")),
            token_url: Some(format!("{issuer}/token")),
            userinfo_url: Some(format!("{issuer}/me")),
            // oidc-provider serves userinfo only to tokens with `openid`; the ID token it
            // then also sends is ignored by a plain OAuth2 provider.
            scopes: vec!["openid".to_owned(), "email".to_owned()],
            ..OAuth2Provider::default()
        },
        tweak,
    )
    .await
}

#[tokio::test]
async fn a_new_user_signs_in_through_explicit_endpoints_and_the_code_works_once() {
    let w = world(|_| {}).await;
    let (_, providers) = w.server.get("/api/auth/oauth2/providers", None).await;
    assert_eq!(providers, json!([{"name": "test", "display_name": "test"}]));

    let users_before = w.server.user_count().await;
    let code = sign_in(&w, "amy@example.com").await;
    let (status, session) = exchange(&w, &code).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], "amy@example.com");
    assert_eq!(session["user"]["email_verified"], true);
    let token = session["token"].as_str().unwrap();
    assert_eq!(w.server.user_count().await, users_before + 1);
    let (status, body) = exchange(&w, &code).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_code")
    );

    // The identity is the provider's subject: signing in again finds the same account.
    let code = sign_in(&w, "amy@example.com").await;
    let (_, again) = exchange(&w, &code).await;
    assert_eq!(again["user"]["id"], session["user"]["id"]);
    assert_eq!(w.server.user_count().await, users_before + 1);
    let (_, linked) = w
        .server
        .get("/api/auth/oauth2/identities", Some(token))
        .await;
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert_eq!(linked[0]["provider"], "test");
    assert_eq!(linked[0]["email"], "amy@example.com");
}

/// The `state` query parameter of a provider redirect.
fn state_of(url: &str) -> String {
    let start = url.find("state=").unwrap() + "state=".len();
    url[start..].split('&').next().unwrap().to_owned()
}

/// `url` with its `name` query parameter set to `value`.
fn with(url: &str, name: &str, value: &str) -> String {
    let start = url.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let end = url[start..].find('&').map_or(url.len(), |i| start + i);
    format!("{}{value}{}", &url[..start], &url[end..])
}

#[tokio::test]
async fn a_state_that_does_not_match_gets_401_and_no_session() {
    let w = world(|_| {}).await;
    let users = w.server.user_count().await;

    // Made up.
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::SignIn("bea@example.com")).await;
    let (status, location, body) = callback(&mut browser, &with(&url, "state", "tb_made_up")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed"),
        "{location}"
    );
    assert!(location.is_empty(), "no redirect to the app: {location}");

    // Another real sign-in's state, whose PKCE verifier does not fit this code.
    let mut other = Browser::new();
    let other_url = through_provider(&w, &mut other, Choice::SignIn("cal@example.com")).await;
    let (status, location, body) =
        callback(&mut browser, &with(&url, "state", &state_of(&other_url))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed"),
        "{location}"
    );
    assert!(location.is_empty(), "{location}");
    // That state is spent too: the other sign-in cannot finish with it either.
    let (status, _, _) = callback(&mut other, &other_url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The first sign-in's own state, still pending, but made for another provider.
    tamper(&w, "provider", "elsewhere").await;
    let (status, _, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed")
    );
    assert_eq!(w.server.user_count().await, users);
    let (_, users_list) = w
        .server
        .get(
            "/api/admin/users?search=example.com",
            Some(&w.server.admin_token().await),
        )
        .await;
    let emails: Vec<&Value> = users_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["email"])
        .collect();
    assert!(!emails.contains(&&json!("bea@example.com")), "{emails:?}");
}

#[tokio::test]
async fn a_replayed_code_gets_no_session() {
    let w = world(|_| {}).await;
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::SignIn("dee@example.com")).await;
    let (status, _, _) = callback(&mut browser, &url).await;
    assert_eq!(status, StatusCode::FOUND);
    let users = w.server.user_count().await;

    // The same callback again: its state is spent.
    let (status, _, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed")
    );

    // The provider's used code under a fresh, valid state: the provider refuses it.
    let start = w.server.url(&format!(
        "/api/auth/oauth2/test/start?redirect_to={}",
        encode(DONE)
    ));
    let fresh = state_of(&location(&browser.get(&start).await));
    let (status, location, body) = callback(&mut browser, &with(&url, "state", &fresh)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed"),
        "{location}"
    );
    assert_eq!(w.server.user_count().await, users);
}

#[tokio::test]
async fn an_unverified_email_is_not_linked_to_an_existing_account() {
    let w = world(|_| {}).await;
    let admin = w.server.admin_token().await;
    // An account whose (verified) address a provider account also claims, unverified.
    let (_, eve) = w
        .server
        .register("unverified.eve@example.com", "eve-password")
        .await;
    w.server
        .patch(
            &format!("/api/admin/users/{}", eve["id"].as_str().unwrap()),
            Some(&admin),
            json!({"email_verified": true}),
        )
        .await;
    let users = w.server.user_count().await;
    let mut browser = Browser::new();
    let url = through_provider(
        &w,
        &mut browser,
        Choice::SignIn("unverified.eve@example.com"),
    )
    .await;
    let (status, location, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "email_in_use"),
        "{location}"
    );
    assert_eq!(w.server.user_count().await, users);
    let (_, linked) = w
        .server
        .get(
            &format!(
                "/api/admin/users/{}/identities",
                eve["id"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(linked, json!([]));

    // A verified address reaches its verified account.
    let (_, fay) = w.server.register("fay@example.com", "fay-password").await;
    let fay_id = fay["id"].as_str().unwrap();
    w.server
        .patch(
            &format!("/api/admin/users/{fay_id}"),
            Some(&admin),
            json!({"email_verified": true}),
        )
        .await;
    let code = sign_in(&w, "fay@example.com").await;
    let (_, session) = exchange(&w, &code).await;
    assert_eq!(session["user"]["id"], fay["id"]);

    // Admins see the link; an unknown user is 404, and only admins may ask.
    let (status, linked) = w
        .server
        .get(
            &format!("/api/admin/users/{fay_id}/identities"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert_eq!(linked[0]["provider"], "test");
    assert_eq!(linked[0]["email"], "fay@example.com");
    assert!(linked[0]["created_at"].is_string());
    let (status, _) = w
        .server
        .get("/api/admin/users/nobody/identities", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = w
        .server
        .get(
            &format!("/api/admin/users/{fay_id}/identities"),
            session["token"].as_str(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_userinfo_endpoint_that_answers_no_user_signs_nobody_in() {
    // The token endpoint works, but "userinfo" is the discovery document: no `sub`/`id`.
    let w = world_with(
        |issuer| OAuth2Provider {
            auth_url: Some(format!("{issuer}/auth")),
            token_url: Some(format!("{issuer}/token")),
            userinfo_url: Some(format!("{issuer}/.well-known/openid-configuration")),
            scopes: vec!["openid".to_owned(), "email".to_owned()],
            ..OAuth2Provider::default()
        },
        |_| {},
    )
    .await;
    let users = w.server.user_count().await;
    let mut browser = Browser::new();
    let url = through_provider(&w, &mut browser, Choice::SignIn("gus@example.com")).await;
    let (status, _, body) = callback(&mut browser, &url).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "oauth2_failed"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no `sub` or `id`"),
        "{body}"
    );
    assert_eq!(w.server.user_count().await, users);
}
