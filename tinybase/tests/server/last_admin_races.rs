//! The last-admin rule under concurrency, over real HTTP: two admins who demote or delete
//! each other at the same moment must never leave the server without an admin. Each race
//! runs 100 rounds; between rounds the loser is restored.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::sync::Arc;

use common::{ADMIN_EMAIL, TestServer, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Barrier;

const ROUNDS: usize = 100;
const PASSWORD: &str = "racing password";

/// An admin taking part in the race.
#[derive(Clone)]
struct Racer {
    id: String,
    email: String,
    token: String,
}

/// A server whose login limits stay out of the way: the races sign in hundreds of times.
async fn start() -> TestServer {
    TestServer::start_with(|s| {
        s.auth.login_limit_per_ip = 0;
        s.auth.login_limit_per_email = 0;
    })
    .await
}

async fn admin_count(server: &TestServer) -> u64 {
    tinybase::auth::Users::new(server.app.database().clone())
        .count_admins()
        .await
        .unwrap()
}

/// Creates an admin over HTTP as `by` and signs it in.
async fn create_admin(server: &TestServer, by: &str, email: &str) -> Racer {
    let (status, body) = server
        .post(
            "/api/admin/users",
            Some(by),
            json!({ "email": email, "password": PASSWORD, "is_admin": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Racer {
        id: body["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        token: server.login(email, PASSWORD).await,
    }
}

/// Two admins, `a` and `b`, and no other: the harness's admin is removed.
async fn two_admins(server: &TestServer) -> (Racer, Racer) {
    let root = server.admin_token().await;
    let a = create_admin(server, &root, "a@example.com").await;
    let b = create_admin(server, &root, "b@example.com").await;
    let (_, page) = server
        .get(
            &format!("/api/admin/users?search={ADMIN_EMAIL}"),
            Some(&a.token),
        )
        .await;
    let root_id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = server
        .delete(&format!("/api/admin/users/{root_id}"), Some(&a.token))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(admin_count(server).await, 2);
    (a, b)
}

/// Sends `method` on `/api/admin/users/{target}` as `by` and `other_method` on `by`'s own
/// path as the other racer, both released at the same instant; returns both statuses.
async fn race(
    server: &Arc<TestServer>,
    first: (&Racer, &Racer),
    second: (&Racer, &Racer),
    method: Method,
    body: Option<Value>,
) -> [(StatusCode, Value); 2] {
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for (by, target) in [first, second] {
        let server = Arc::clone(server);
        let barrier = Arc::clone(&barrier);
        let method = method.clone();
        let body = body.clone();
        let token = by.token.clone();
        let path = format!("/api/admin/users/{}", target.id);
        tasks.push(tokio::spawn(async move {
            let mut request = server.request(method, &path, Some(&token));
            if let Some(body) = body {
                request = request.json(&body);
            }
            barrier.wait().await;
            read(request.send().await.unwrap()).await
        }));
    }
    let second = tasks.pop().unwrap().await.unwrap();
    let first = tasks.pop().unwrap().await.unwrap();
    [first, second]
}

/// A loser of a race is refused for one of the reasons the rule allows: the other demoted
/// or deleted them first (403 or 401), or they were about to remove the last admin (409).
#[track_caller]
fn assert_refused_properly((status, body): &(StatusCode, Value)) {
    assert!(
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::CONFLICT
        ]
        .contains(status),
        "{status}: {body}"
    );
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let server = Arc::new(start().await);
    let (a, b) = two_admins(&server).await;
    let mut wins = [0usize; 2];
    // Rounds where both requests got past the admin check and the rule alone stopped one.
    let mut both_authorised = 0;
    for round in 0..ROUNDS {
        let results = race(
            &server,
            (&a, &b),
            (&b, &a),
            Method::PATCH,
            Some(json!({ "is_admin": false })),
        )
        .await;
        let admins = admin_count(&server).await;
        assert!(admins >= 1, "round {round}: no admin left: {results:?}");
        let succeeded: Vec<usize> = (0..2).filter(|&i| results[i].0 == StatusCode::OK).collect();
        assert_eq!(succeeded.len(), 1, "round {round}: {results:?}");
        let winner = succeeded[0];
        assert_refused_properly(&results[1 - winner]);
        assert_eq!(admins, 1, "round {round}");
        wins[winner] += 1;
        if results[1 - winner].0 == StatusCode::CONFLICT {
            both_authorised += 1;
        }

        // The winner promotes the loser again for the next round.
        let (winner, loser) = if winner == 0 { (&a, &b) } else { (&b, &a) };
        let (status, body) = server
            .patch(
                &format!("/api/admin/users/{}", loser.id),
                Some(&winner.token),
                json!({ "is_admin": true }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        assert_eq!(admin_count(&server).await, 2);
    }
    println!(
        "demotion races won: a {}, b {}; stopped by the rule itself: {both_authorised}",
        wins[0], wins[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_deleting_each_other_at_once_leave_one_admin() {
    let server = Arc::new(start().await);
    let (mut a, mut b) = two_admins(&server).await;
    let mut both_authorised = 0;
    for round in 0..ROUNDS {
        let results = race(&server, (&a, &b), (&b, &a), Method::DELETE, None).await;
        let admins = admin_count(&server).await;
        assert!(admins >= 1, "round {round}: no admin left: {results:?}");
        let succeeded: Vec<usize> = (0..2)
            .filter(|&i| results[i].0 == StatusCode::NO_CONTENT)
            .collect();
        assert_eq!(succeeded.len(), 1, "round {round}: {results:?}");
        let winner = succeeded[0];
        assert_refused_properly(&results[1 - winner]);
        assert_eq!(admins, 1, "round {round}");
        if results[1 - winner].0 == StatusCode::CONFLICT {
            both_authorised += 1;
        }

        // The winner re-creates the deleted admin, under a new email each round so a stale
        // row could not hide behind a reused one.
        let survivor = if winner == 0 { a.clone() } else { b.clone() };
        let loser = if winner == 0 { &b } else { &a };
        assert!(
            tinybase::auth::Users::new(server.app.database().clone())
                .get(&loser.id)
                .await
                .is_err(),
            "round {round}: the loser was not deleted"
        );
        let prefix = loser
            .email
            .split('@')
            .next()
            .unwrap()
            .split('-')
            .next()
            .unwrap();
        let email = format!("{prefix}-{round}@example.com");
        let recreated = create_admin(&server, &survivor.token, &email).await;
        if winner == 0 {
            b = recreated;
        } else {
            a = recreated;
        }
        assert_eq!(admin_count(&server).await, 2);
    }
    println!("deletion races stopped by the rule itself: {both_authorised}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_demoting_while_the_other_deletes_leaves_one_admin() {
    let server = Arc::new(start().await);
    let (mut a, b) = two_admins(&server).await;
    for round in 0..ROUNDS {
        // `a` demotes `b` while `b` deletes `a`.
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for request in [
            server
                .request(
                    Method::PATCH,
                    &format!("/api/admin/users/{}", b.id),
                    Some(&a.token),
                )
                .json(&json!({ "is_admin": false })),
            server.request(
                Method::DELETE,
                &format!("/api/admin/users/{}", a.id),
                Some(&b.token),
            ),
        ] {
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                read(request.send().await.unwrap()).await
            }));
        }
        let deleted = tasks.pop().unwrap().await.unwrap();
        let demoted = tasks.pop().unwrap().await.unwrap();
        let admins = admin_count(&server).await;
        assert!(
            admins >= 1,
            "round {round}: no admin left: {demoted:?} {deleted:?}"
        );
        assert_eq!(admins, 1, "round {round}: {demoted:?} {deleted:?}");
        let a_exists = tinybase::auth::Users::new(server.app.database().clone())
            .get(&a.id)
            .await
            .is_ok();
        match (demoted.0, deleted.0) {
            (StatusCode::OK, _) => {
                assert_refused_properly(&deleted);
                assert!(a_exists, "round {round}");
                let (status, body) = server
                    .patch(
                        &format!("/api/admin/users/{}", b.id),
                        Some(&a.token),
                        json!({ "is_admin": true }),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            (_, StatusCode::NO_CONTENT) => {
                assert_refused_properly(&demoted);
                assert!(!a_exists, "round {round}");
                a = create_admin(&server, &b.token, &format!("a-{round}@example.com")).await;
            }
            other => panic!("round {round}: neither won: {other:?}"),
        }
        assert_eq!(admin_count(&server).await, 2);
    }
}
