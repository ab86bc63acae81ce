//! Every admin operation in the OpenAPI document refuses anonymous callers (401) and
//! signed-in non-admins (403), whatever the body — walked from the document itself, so a
//! new admin route is covered the day it is added.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_operation_refuses_anonymous_and_plain_users() {
    let server = TestServer::start().await;
    let (user, _) = server.register("plain@example.com", "plain-password").await;
    let (_, doc) = server.get("/openapi.json", None).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut walked = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/admin")) {
        let concrete = path.replace("{id}", "01900000-0000-7000-8000-000000000000");
        for (method, _) in item
            .as_object()
            .unwrap()
            .iter()
            .filter(|(m, _)| *m != "parameters")
        {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (token, expected) in [
                (None, StatusCode::UNAUTHORIZED),
                (Some(user.as_str()), StatusCode::FORBIDDEN),
            ] {
                let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
                let (status, error) = server.send(method.clone(), &concrete, token, body).await;
                assert_eq!(
                    status, expected,
                    "{method} {concrete} as {token:?}: {error}"
                );
                let code = if expected == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "forbidden"
                };
                assert_eq!(error["error"]["code"], code, "{method} {concrete}");
            }
            walked += 1;
        }
    }
    // users (5), functions (3), schedules (5) at the time of writing; more is fine.
    assert!(walked >= 13, "only {walked} admin operations found");
    let _: Value = doc;
}
