//! Schedules over real HTTP with the real scheduler: validation on save, runs that happen
//! when due (and only then), once-schedules switching off, no overlapping runs, missed
//! runs caught up once, and two processes on one database never running a slot twice.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Result};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct CountInput {
    count: u32,
}

/// Returns what the run was told.
#[tinybase::function(auth = "admin")]
async fn count_to(_ctx: Context, input: CountInput) -> Result<CountInput> {
    Ok(input)
}

/// Reports why it ran.
#[tinybase::function(auth = "admin")]
async fn tick(ctx: Context) -> Result<Value> {
    Ok(json!({ "trigger": ctx.trigger(), "schedule": ctx.trigger_id() }))
}

/// Takes longer than its schedule's interval.
#[tinybase::function(auth = "admin")]
async fn slow_tick(_ctx: Context) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    Ok(())
}

fn every_second(function: &str) -> Value {
    json!({
        "name": format!("{function} every second"),
        "function_name": function,
        "schedule": {"method": "interval", "unit": "seconds", "value": 1},
    })
}

async fn calls_of(server: &TestServer, token: &str, schedule_id: &str) -> Vec<Value> {
    let (status, page) = server
        .get(
            "/api/admin/functions/calls?per_page=500&trigger_type=schedule",
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["trigger_id"] == schedule_id)
        .cloned()
        .collect()
}

/// Waits until `schedule_id` has at least `n` finished calls, for at most `limit`.
async fn wait_for_calls(
    server: &TestServer,
    token: &str,
    schedule_id: &str,
    n: usize,
    limit: Duration,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let calls = calls_of(server, token, schedule_id).await;
        let finished = calls.iter().filter(|c| c["status"] != "running").count();
        if finished >= n || tokio::time::Instant::now() > deadline {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_checked_on_save_and_bad_ones_change_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let cases = [
        (
            json!({"name": "x", "function_name": "nope", "schedule": {"method": "interval", "unit": "minutes", "value": 5}}),
            "function_name",
        ),
        (
            json!({"name": "x", "function_name": "count_to", "schedule": {"method": "interval", "unit": "minutes", "value": 5}, "input": {"count": "many"}}),
            "input.count",
        ),
        (
            json!({"name": "x", "function_name": "count_to", "schedule": {"method": "interval", "unit": "minutes", "value": 5}}),
            "input",
        ),
        (
            json!({"name": "x", "function_name": "tick", "schedule": {"method": "cron", "cron": "61 * * * *"}}),
            "schedule.cron",
        ),
        (
            json!({"name": "x", "function_name": "tick", "schedule": {"method": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berln"}}),
            "schedule.timezone",
        ),
        (
            json!({"name": "x", "function_name": "tick", "schedule": {"method": "interval", "unit": "minutes", "value": 0}}),
            "schedule.value",
        ),
        (
            json!({"name": "x", "function_name": "tick", "schedule": {"method": "once", "date": "2001-01-01", "time": "00:00"}}),
            "schedule.date",
        ),
        (
            json!({"name": "", "function_name": "tick", "schedule": {"method": "interval", "unit": "minutes", "value": 1}}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = server
            .post("/api/admin/schedules", Some(&admin), body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert_eq!(error["error"]["code"], "validation_failed");
        assert!(
            error["error"]["details"]["fields"].get(field).is_some(),
            "{field} missing in {error}"
        );
    }
    // Shape errors: an unknown method or unit, an unknown key.
    for schedule in [
        json!({"method": "weekly"}),
        json!({"method": "interval", "unit": "weeks", "value": 1}),
        json!({"method": "interval", "unit": "days", "value": 1, "every": 2}),
    ] {
        let body = json!({"name": "x", "function_name": "tick", "schedule": schedule});
        let (status, error) = server
            .post("/api/admin/schedules", Some(&admin), body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    }
    let (status, page) = server.get("/api/admin/schedules", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total_items"], 0, "nothing was saved: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_manage_schedules() {
    let server = TestServer::start().await;
    let (user, _) = server.register("user@example.com", "user-password").await;
    let body = every_second("tick");
    for token in [None, Some(user.as_str())] {
        let expected = if token.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        let (status, _) = server.get("/api/admin/schedules", token).await;
        assert_eq!(status, expected);
        let (status, _) = server
            .post("/api/admin/schedules", token, body.clone())
            .await;
        assert_eq!(status, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_schedule_runs_its_function_with_its_input() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let body = json!({
        "name": "count",
        "function_name": "count_to",
        "schedule": {"method": "interval", "unit": "seconds", "value": 1, "timezone": "Europe/Berlin"},
        "input": {"count": 7},
    });
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();
    assert_eq!(schedule["is_active"], true);
    assert!(schedule["last_run_at"].is_null());
    let first_due = time(&schedule["next_run_at"]);
    assert!(first_due > time(&schedule["created_at"]));

    let calls = wait_for_calls(&server, &admin, &id, 2, Duration::from_secs(10)).await;
    let succeeded: Vec<_> = calls
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .collect();
    assert!(succeeded.len() >= 2, "{calls:#?}");
    for call in &succeeded {
        assert_eq!(call["function_name"], "count_to");
        assert_eq!(call["trigger_type"], "schedule");
        assert!(call["requested_by_user_id"].is_null());
        assert!(time(&call["started_at"]) >= first_due);
    }

    let (_, schedule) = server
        .get(&format!("/api/admin/schedules/{id}"), Some(&admin))
        .await;
    let last = time(&schedule["last_run_at"]);
    let next = time(&schedule["next_run_at"]);
    assert!(next > last, "{schedule}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_interval_runs_every_second_until_deactivated() {
    let server = TestServer::start_with(|s| s.scheduler.interval_seconds = 1).await;
    let admin = server.admin_token().await;
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), every_second("tick"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_secs(6)).await;
    let calls = calls_of(&server, &admin, &id).await;
    assert!(
        calls.len() >= 3,
        "only {} runs in 6 s: {calls:#?}",
        calls.len()
    );
    assert!(
        calls
            .iter()
            .all(|c| c["trigger_id"] == id.as_str() && c["trigger_type"] == "schedule")
    );

    let (status, paused) = server
        .patch(
            &format!("/api/admin/schedules/{id}"),
            Some(&admin),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    // A run already claimed may still finish; after that, nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = calls_of(&server, &admin, &id).await.len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        calls_of(&server, &admin, &id).await.len(),
        settled,
        "runs continued after deactivation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_berlin_cron_schedule_is_due_at_three_local_time() {
    use chrono::Timelike;
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let body = json!({
        "name": "nightly",
        "function_name": "tick",
        "schedule": {"method": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "description": "nightly"},
    });
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let next = time(&schedule["next_run_at"]).with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        (next.hour(), next.minute(), next.second()),
        (3, 0, 0),
        "{schedule}"
    );
    let until = next.with_timezone(&Utc) - Utc::now();
    assert!(
        until > chrono::Duration::zero() && until <= chrono::Duration::hours(25),
        "{schedule}"
    );
    assert_eq!(schedule["schedule"]["description"], "nightly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_once_schedule_runs_once_then_switches_off() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let at = Utc::now() + chrono::Duration::seconds(2);
    let body = json!({
        "name": "once",
        "function_name": "tick",
        "schedule": {
            "method": "once",
            "date": at.format("%Y-%m-%d").to_string(),
            "time": at.format("%H:%M:%S").to_string(),
            "timezone": "UTC",
        },
    });
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();
    assert_eq!(time(&schedule["next_run_at"]).timestamp(), at.timestamp());

    let calls = wait_for_calls(&server, &admin, &id, 1, Duration::from_secs(10)).await;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0]["status"], "succeeded");
    assert!(time(&calls[0]["started_at"]).timestamp() >= at.timestamp());

    let (_, schedule) = server
        .get(&format!("/api/admin/schedules/{id}"), Some(&admin))
        .await;
    assert_eq!(schedule["is_active"], false, "{schedule}");
    assert!(schedule["next_run_at"].is_null());
    assert!(!schedule["last_run_at"].is_null());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        calls_of(&server, &admin, &id).await.len(),
        1,
        "it ran again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_one_schedule_never_overlap() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (status, schedule) = server
        .post(
            "/api/admin/schedules",
            Some(&admin),
            every_second("slow_tick"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();

    let mut calls = wait_for_calls(&server, &admin, &id, 2, Duration::from_secs(15)).await;
    calls.retain(|c| c["status"] == "succeeded");
    assert!(calls.len() >= 2, "{calls:#?}");
    calls.sort_by_key(|c| time(&c["started_at"]));
    for pair in calls.windows(2) {
        assert!(
            time(&pair[1]["started_at"]) >= time(&pair[0]["finished_at"]),
            "overlapping runs: {pair:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_and_deleting_stop_runs() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, schedule) = server
        .post(
            "/api/admin/schedules",
            Some(&admin),
            json!({"name": "later", "function_name": "tick",
                   "schedule": {"method": "interval", "unit": "hours", "value": 1}}),
        )
        .await;
    let id = schedule["id"].as_str().unwrap().to_owned();
    let path = format!("/api/admin/schedules/{id}");

    let (status, paused) = server
        .patch(&path, Some(&admin), json!({"is_active": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert!(paused["next_run_at"].is_null());

    let (status, resumed) = server
        .patch(
            &path,
            Some(&admin),
            json!({"is_active": true, "name": "renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["name"], "renamed");
    let next = time(&resumed["next_run_at"]);
    let expected = Utc::now() + chrono::Duration::hours(1);
    assert!((next - expected).num_seconds().abs() < 60, "{resumed}");

    let (status, error) = server
        .patch(&path, Some(&admin), json!({"function_name": "nope"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, unchanged) = server.get(&path, Some(&admin)).await;
    assert_eq!(unchanged["function_name"], "tick");

    let (status, _) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = server.get(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, _) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_runs_during_downtime_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("test.db").display().to_string();
    let mut settings = tinybase::config::Settings::default();
    settings.database.url = db_path;

    // A schedule whose every-second slots were all missed for an hour, and a claim left
    // behind by a process that died mid-run.
    let app = tinybase::App::new(settings.clone()).build().await.unwrap();
    let an_hour_ago = tinybase::db::format_timestamp(Utc::now() - chrono::Duration::hours(1));
    app.database()
        .write(move |tx| {
            tx.execute(
                "INSERT INTO function_schedules (id, name, function_name, schedule, is_active,
                     next_run_at, running_since, created_at, updated_at)
                 VALUES ('01900000-0000-7000-8000-000000000001', 'missed', 'tick',
                     '{\"method\":\"interval\",\"unit\":\"seconds\",\"value\":30,\"timezone\":\"UTC\"}',
                     1, ?1, ?1, ?1, ?1)",
                [&an_hour_ago],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    drop(app);

    // Start: the stale claim is released and the missed slots become one run.
    let app = tinybase::App::new(settings).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(app.clone().serve(listener, std::future::pending()));
    let count_runs = || {
        app.database().read(|conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM function_calls WHERE trigger_id = '01900000-0000-7000-8000-000000000001'",
                [],
                |row| row.get::<_, i64>(0),
            )?)
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count_runs().await.unwrap() == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        count_runs().await.unwrap(),
        1,
        "missed slots ran more than once"
    );
    let next: String = app
        .database()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT next_run_at FROM function_schedules WHERE name = 'missed'",
                [],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap();
    let next: DateTime<Utc> = next.parse().unwrap();
    assert!(
        next > Utc::now(),
        "the next run is computed from now, not from the missed slots"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_run_a_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = tinybase::config::Settings::default();
    settings.database.url = dir.path().join("shared.db").display().to_string();
    settings.scheduler.interval_seconds = 1;
    let first = tinybase::App::new(settings.clone()).build().await.unwrap();
    let second = tinybase::App::new(settings).build().await.unwrap();
    for app in [&first, &second] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tokio::spawn(app.clone().serve(listener, std::future::pending()));
    }
    // Several once-schedules due at the same moment, seen by both schedulers.
    let at = tinybase::db::format_timestamp(Utc::now() + chrono::Duration::seconds(2));
    let once = json!({"method": "once", "date": &at[..10], "time": &at[11..19], "timezone": "UTC"})
        .to_string();
    first
        .database()
        .write(move |tx| {
            for n in 0..5 {
                tx.execute(
                    "INSERT INTO function_schedules (id, name, function_name, schedule, is_active,
                         next_run_at, created_at, updated_at)
                     VALUES (?1, ?2, 'tick', ?3, 1, ?4, ?4, ?4)",
                    rusqlite_params(n, &once, &at),
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let per_schedule: Vec<i64> = second
        .database()
        .read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT COUNT(c.id) FROM function_schedules s
                 LEFT JOIN function_calls c ON c.trigger_id = s.id GROUP BY s.id",
            )?;
            let counts = stmt
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(counts)
        })
        .await
        .unwrap();
    assert_eq!(per_schedule, vec![1; 5], "each slot must run exactly once");
}

fn rusqlite_params(n: i32, schedule: &str, at: &str) -> [String; 4] {
    [
        format!("01900000-0000-7000-8000-00000000001{n}"),
        format!("slot {n}"),
        schedule.to_owned(),
        at.to_owned(),
    ]
}
