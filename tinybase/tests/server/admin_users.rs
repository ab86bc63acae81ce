//! `/api/admin/users` over a real HTTP server: access control, pagination, search, CRUD and
//! the rules that keep one admin in place.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::{ADMIN_EMAIL, TestServer, assert_status_error, assert_user_shape};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tinybase::auth::users::NewUser;

const PASSWORD: &str = "user password";

/// Creates a user through the library (fast, no HTTP) and returns its id.
async fn create_direct(server: &TestServer, email: &str, is_admin: bool) -> String {
    tinybase::auth::Users::new(server.app.database().clone())
        .create(NewUser {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            is_admin,
            email_verified: false,
        })
        .await
        .expect("create user")
        .id
}

async fn user_in_db(server: &TestServer, id: &str) -> Option<tinybase::auth::User> {
    match tinybase::auth::Users::new(server.app.database().clone())
        .get(id)
        .await
    {
        Ok(user) => Some(user),
        Err(err) if err.kind() == tinybase::ErrorKind::NotFound => None,
        Err(err) => panic!("{err:?}"),
    }
}

fn admin_id_of(page: &Value) -> String {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ADMIN_EMAIL)
        .expect("admin listed")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_anonymous_and_non_admins() {
    let server = TestServer::start().await;
    let (user_token, user) = server.register("plain@example.com", PASSWORD).await;
    let user_id = user["id"].as_str().unwrap();
    let one = format!("/api/admin/users/{user_id}");
    let before = server.user_count().await;

    let routes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/api/admin/users", None),
        (
            Method::POST,
            "/api/admin/users",
            Some(json!({ "email": "new@example.com", "password": PASSWORD, "is_admin": true })),
        ),
        (Method::GET, &one, None),
        (Method::PATCH, &one, Some(json!({ "is_admin": true }))),
        (Method::DELETE, &one, None),
    ];
    for (method, path, body) in routes {
        let response = server.send(method.clone(), path, None, body.clone()).await;
        let error = assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(error.get("details").is_none(), "{method} {path}: {error}");

        let response = server
            .send(method.clone(), path, Some(&user_token), body)
            .await;
        assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    }

    // Nothing changed: no user created, the user is neither promoted nor deleted.
    assert_eq!(server.user_count().await, before);
    let stored = user_in_db(&server, user_id).await.expect("still exists");
    assert!(!stored.is_admin);
    let (status, me) = server.get("/api/auth/me", Some(&user_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["is_admin"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_paginates_oldest_first() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for i in 0..25 {
        create_direct(&server, &format!("user{i:02}@example.com"), false).await;
    }
    let total = server.user_count().await;
    assert_eq!(total, 26, "25 users plus the admin");

    // Defaults: page 1, 20 per page.
    let (status, page) = server.get("/api/admin/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut keys: Vec<&str> = page
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["items", "page", "per_page", "total_items", "total_pages"]
    );
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 20);
    assert_eq!(page["total_items"], 26);
    assert_eq!(page["total_pages"], 2);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_user_shape(&items[0], ADMIN_EMAIL, true);
    assert_user_shape(&items[1], "user00@example.com", false);

    // The last page holds the remainder.
    let (status, page) = server
        .get("/api/admin/users?per_page=10&page=3", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["page"], 3);
    assert_eq!(page["per_page"], 10);
    assert_eq!(page["total_items"], 26);
    assert_eq!(page["total_pages"], 3);
    let emails: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    // Items 21..=26 of admin, user00..user24 are user19..user24.
    let expected: Vec<String> = (19..25).map(|i| format!("user{i}@example.com")).collect();
    assert_eq!(emails, expected);

    // Past the end: an empty page, not an error.
    let (status, page) = server
        .get("/api/admin/users?per_page=10&page=4", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total_items"], 26);
    assert_eq!(page["total_pages"], 3);

    // Pages do not overlap and together hold everyone once.
    let mut seen = std::collections::BTreeSet::new();
    for n in 1..=3 {
        let (_, page) = server
            .get(
                &format!("/api/admin/users?per_page=10&page={n}"),
                Some(&admin),
            )
            .await;
        for user in page["items"].as_array().unwrap() {
            assert!(seen.insert(user["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(seen.len(), 26);

    // per_page is clamped.
    let (status, page) = server
        .get("/api/admin/users?per_page=10000", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["per_page"], 500);
    assert_eq!(page["total_pages"], 1);
    assert_eq!(page["items"].as_array().unwrap().len(), 26);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_page_parameters_are_400() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for query in [
        "page=0",
        "per_page=0",
        "per_page=abc",
        "page=-1",
        "page=1.5",
        "page=99999999999",
    ] {
        let response = server
            .get(&format!("/api/admin/users?{query}"), Some(&admin))
            .await;
        let error = assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        let message = error["message"].as_str().unwrap();
        let param = query.split('=').next().unwrap();
        assert!(message.contains(param), "{query}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_by_email_substring_literally() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    for email in [
        "alice@example.com",
        "alicia@example.org",
        "bob@example.com",
        "a_b@example.com",
        "axb@example.com",
        "100%@example.com",
        "1000@example.com",
    ] {
        create_direct(&server, email, false).await;
    }

    let search = |term: &str| {
        let path = format!("/api/admin/users?search={term}");
        let server = &server;
        let admin = admin.clone();
        async move {
            let (status, page) = server.get(&path, Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            let mut emails: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect();
            emails.sort();
            assert_eq!(page["total_items"], emails.len(), "{path}: {page}");
            emails
        }
    };

    assert_eq!(
        search("alic").await,
        ["alice@example.com", "alicia@example.org"]
    );
    // Case-insensitive.
    assert_eq!(search("ALICE").await, ["alice@example.com"]);
    assert_eq!(search("example.org").await, ["alicia@example.org"]);
    // `_` and `%` are literal characters, not wildcards (`%25` is `%` URL-encoded).
    assert_eq!(search("a_b").await, ["a_b@example.com"]);
    assert_eq!(search("100%25").await, ["100%@example.com"]);
    assert_eq!(search("%25").await, ["100%@example.com"]);
    assert_eq!(search("_").await, ["a_b@example.com"]);
    assert!(search("nobody").await.is_empty());
    // An empty search lists everyone (7 plus the admin).
    assert_eq!(search("").await.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_and_duplicates() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;

    let (status, plain) = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({ "email": "Plain@Example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert_user_shape(&plain, "plain@example.com", false);

    let (status, boss) = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({ "email": "boss@example.com", "password": PASSWORD, "is_admin": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{boss}");
    assert_user_shape(&boss, "boss@example.com", true);

    // The new admin can use the admin API with its own login.
    let boss_token = server.login("boss@example.com", PASSWORD).await;
    let (status, _) = server.get("/api/admin/users", Some(&boss_token)).await;
    assert_eq!(status, StatusCode::OK);

    // GET returns the same user.
    let id = plain["id"].as_str().unwrap();
    let (status, got) = server
        .get(&format!("/api/admin/users/{id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got, plain);

    // Duplicates (in any case) are 409 and create nothing.
    let before = server.user_count().await;
    for email in ["plain@example.com", "PLAIN@example.com"] {
        let response = server
            .post(
                "/api/admin/users",
                Some(&admin),
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        let error = assert_status_error(&response, StatusCode::CONFLICT, "conflict");
        assert!(error["details"]["fields"]["email"].is_string(), "{error}");
    }
    // Bad values are 422 and create nothing.
    let response = server
        .post(
            "/api/admin/users",
            Some(&admin),
            json!({ "email": "bad", "password": "short" }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(error["details"]["fields"]["email"].is_string(), "{error}");
    assert!(
        error["details"]["fields"]["password"].is_string(),
        "{error}"
    );
    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let before = server.user_count().await;
    for id in [
        "0190a6f0-0000-7000-8000-000000000000",
        "not-a-uuid",
        "1",
        "%27%20OR%201=1--",
    ] {
        let path = format!("/api/admin/users/{id}");
        let response = server.get(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server
            .patch(&path, Some(&admin), json!({ "is_admin": true }))
            .await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = server.delete(&path, Some(&admin)).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_email_admin_rights_and_password() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (old_token, user) = server.register("change@example.com", PASSWORD).await;
    let other_token = server.login("change@example.com", PASSWORD).await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/api/admin/users/{id}");

    // Email: normalised; the session survives an email change.
    let (status, body) = server
        .patch(
            &path,
            Some(&admin),
            json!({ "email": " Changed@Example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body, "changed@example.com", false);
    assert_eq!(body["id"], user["id"]);
    assert_eq!(body["created_at"], user["created_at"]);
    assert!(common::timestamp(&body["updated_at"]) >= common::timestamp(&user["updated_at"]));
    let (status, me) = server.get("/api/auth/me", Some(&old_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "changed@example.com");

    // Admin rights.
    let (status, body) = server
        .patch(&path, Some(&admin), json!({ "is_admin": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body, "changed@example.com", true);
    let (status, _) = server.get("/api/admin/users", Some(&old_token)).await;
    assert_eq!(status, StatusCode::OK, "promotion takes effect at once");

    // Password: every token of that user is revoked; the new password logs in.
    let (status, body) = server
        .patch(
            &path,
            Some(&admin),
            json!({ "password": "brand new password" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body, "changed@example.com", true);
    for token in [&old_token, &other_token] {
        let response = server.get("/api/auth/me", Some(token)).await;
        assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let response = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "changed@example.com", "password": PASSWORD }),
        )
        .await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    let new_token = server
        .login("changed@example.com", "brand new password")
        .await;
    let (status, _) = server.get("/api/auth/me", Some(&new_token)).await;
    assert_eq!(status, StatusCode::OK);
    // The admin who changed it is still signed in.
    let (status, _) = server.get("/api/auth/me", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);

    // An empty patch changes nothing but is fine.
    let (status, body) = server.patch(&path, Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "changed@example.com");
    assert_eq!(body["is_admin"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_patches_are_rejected_and_change_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, user) = server.register("keep@example.com", PASSWORD).await;
    server.register("taken@example.com", PASSWORD).await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/api/admin/users/{id}");

    let response = server
        .patch(&path, Some(&admin), json!({ "nickname": "x" }))
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        error["details"]["fields"]["nickname"].is_string(),
        "{error}"
    );

    let response = server
        .patch(&path, Some(&admin), json!({ "is_admin": "yes" }))
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

    let response = server
        .patch(
            &path,
            Some(&admin),
            json!({ "email": "nope", "password": "short", "is_admin": true }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(error["details"]["fields"]["email"].is_string(), "{error}");
    assert!(
        error["details"]["fields"]["password"].is_string(),
        "{error}"
    );

    let response = server
        .patch(
            &path,
            Some(&admin),
            json!({ "email": "TAKEN@example.com", "is_admin": true }),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");

    let stored = user_in_db(&server, id).await.unwrap();
    assert_eq!(stored.email, "keep@example.com");
    assert!(!stored.is_admin);
    assert_eq!(
        stored.updated_at,
        common::timestamp(&user["updated_at"]),
        "a rejected patch must not touch the row"
    );
    server.login("keep@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_be_demoted_or_deleted() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, page) = server.get("/api/admin/users", Some(&admin)).await;
    let admin_id = admin_id_of(&page);
    let path = format!("/api/admin/users/{admin_id}");

    let response = server
        .patch(&path, Some(&admin), json!({ "is_admin": false }))
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    // Not even together with another change: the whole patch is refused.
    let response = server
        .patch(
            &path,
            Some(&admin),
            json!({ "is_admin": false, "email": "renamed@example.com" }),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    let response = server.delete(&path, Some(&admin)).await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");

    let stored = user_in_db(&server, &admin_id).await.expect("admin exists");
    assert!(stored.is_admin);
    assert_eq!(stored.email, ADMIN_EMAIL);
    assert_eq!(
        tinybase::auth::Users::new(server.app.database().clone())
            .count_admins()
            .await
            .unwrap(),
        1
    );
    let (status, _) = server.get("/api/admin/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "the admin keeps its rights");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_admins_one_may_be_demoted_then_the_other_is_protected() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let second_id = create_direct(&server, "second@example.com", true).await;
    let (_, page) = server.get("/api/admin/users", Some(&admin)).await;
    let admin_id = admin_id_of(&page);

    // An admin may even demote themself while another admin remains.
    let (status, body) = server
        .patch(
            &format!("/api/admin/users/{admin_id}"),
            Some(&admin),
            json!({ "is_admin": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body, ADMIN_EMAIL, false);
    let response = server.get("/api/admin/users", Some(&admin)).await;
    assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");

    // Now the second is the last one.
    let second = server.login("second@example.com", PASSWORD).await;
    let response = server
        .patch(
            &format!("/api/admin/users/{second_id}"),
            Some(&second),
            json!({ "is_admin": false }),
        )
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    let response = server
        .delete(&format!("/api/admin/users/{second_id}"), Some(&second))
        .await;
    assert_status_error(&response, StatusCode::CONFLICT, "conflict");
    assert!(user_in_db(&server, &second_id).await.unwrap().is_admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_user() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, user) = server.register("bye@example.com", PASSWORD).await;
    let keep_id = create_direct(&server, "stay@example.com", false).await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/api/admin/users/{id}");
    let before = server.user_count().await;

    let (status, body) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);

    let response = server.get(&path, Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.delete(&path, Some(&admin)).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(server.user_count().await, before - 1);
    assert!(user_in_db(&server, &keep_id).await.is_some());

    // The email is free again.
    let response = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "bye@example.com", "password": PASSWORD }),
        )
        .await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    server.register("bye@example.com", "a new password").await;
}
