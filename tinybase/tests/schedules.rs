//! Schedules over real HTTP with the real scheduler: validation on save, runs that happen
//! when due (and only then) with their input, a one-second cadence, once-schedules
//! switching off, pausing and deleting stopping runs, no overlapping runs, missed runs
//! caught up once, and `scheduler.enabled = false`. (Two processes sharing one database
//! are in the end-to-end tests: `tests/tests/schedules.rs`.)
//!
//! Waits are on conditions with deadlines. The only fixed waits are the windows in which
//! a test checks that nothing happens (no run after a pause or delete); those can only
//! fail when runs do happen.

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

/// Records what the run was told (and by which schedule) in the `runs` collection, then
/// returns it.
#[tinybase::function(auth = "admin")]
async fn count_to(ctx: Context, input: CountInput) -> Result<CountInput> {
    ctx.records_as_system()
        .create(
            "runs",
            json!({
                "count": input.count,
                "trigger": ctx.trigger().as_str(),
                "schedule": ctx.trigger_id(),
            }),
        )
        .await?;
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
    let server = TestServer::start_with(|s| s.scheduler.interval_seconds = 1).await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "runs", "schema": {"fields": [
                {"name": "count", "type": "int"},
                {"name": "trigger", "type": "string"},
                {"name": "schedule", "type": "string"},
            ]}}),
        )
        .await;
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

    let calls = wait_for_calls(&server, &admin, &id, 2, Duration::from_secs(15)).await;
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
    // Each run got the schedule's input, and knew it was that schedule's run.
    let runs = recorded_runs(&server, &admin).await;
    assert!(runs.len() >= 2, "{runs:#?}");
    for run in &runs {
        assert_eq!(
            run,
            &json!({"count": 7, "trigger": "schedule", "schedule": id}),
            "{runs:#?}"
        );
    }

    let path = format!("/api/admin/schedules/{id}");
    let (_, schedule) = server.get(&path, Some(&admin)).await;
    let last = time(&schedule["last_run_at"]);
    let next = time(&schedule["next_run_at"]);
    assert!(next > last, "{schedule}");

    // A changed input reaches the next runs.
    let (status, changed) = server
        .patch(&path, Some(&admin), json!({"input": {"count": 9}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    eventually(
        "a run with the new input",
        Duration::from_secs(15),
        async || {
            let runs = recorded_runs(&server, &admin).await;
            runs.iter().any(|r| r["count"] == 9).then_some(())
        },
    )
    .await;
}

/// The data of every record the `count_to` runs wrote, oldest first.
async fn recorded_runs(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, page) = server
        .get("/api/collections/runs/records?per_page=500", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].clone())
        .collect()
}

/// Polls `probe` until it gives a value, for at most `limit`; panics naming `what` if it
/// never does.
async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a run of the schedule is claimed (going or about to start), from the database.
async fn is_claimed(server: &TestServer, id: &str) -> bool {
    let id = id.to_owned();
    server
        .app
        .database()
        .read(move |conn| {
            Ok(conn.query_row(
                "SELECT running_since IS NOT NULL FROM function_schedules WHERE id = ?1",
                [&id],
                |row| row.get::<_, bool>(0),
            )?)
        })
        .await
        .unwrap()
}

/// Finished calls of the schedule, in the order they started.
async fn finished_calls(server: &TestServer, token: &str, id: &str) -> Vec<Value> {
    let mut calls: Vec<Value> = calls_of(server, token, id)
        .await
        .into_iter()
        .filter(|c| c["status"] != "running")
        .collect();
    calls.sort_by_key(|c| time(&c["started_at"]));
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_interval_runs_about_once_a_second() {
    let server = TestServer::start_with(|s| s.scheduler.interval_seconds = 1).await;
    let admin = server.admin_token().await;
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), every_second("tick"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();

    // Eight runs, timed by the server's own call records.
    const RUNS: usize = 8;
    let calls = eventually("eight runs", Duration::from_secs(40), async || {
        let calls = finished_calls(&server, &admin, &id).await;
        (calls.len() >= RUNS).then_some(calls)
    })
    .await;
    assert!(
        calls
            .iter()
            .all(|c| c["trigger_id"] == id.as_str() && c["trigger_type"] == "schedule")
    );
    let starts: Vec<DateTime<Utc>> = calls[..RUNS]
        .iter()
        .map(|c| time(&c["started_at"]))
        .collect();
    // Never faster than the interval: each run starts a second after the previous start.
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= chrono::Duration::milliseconds(999),
            "two runs {gap} apart: {starts:?}"
        );
    }
    // And about once a second: seven gaps take well under the 14 s a two-second cadence
    // would (a late wake-up delays one run; the next is still counted from its start).
    let span = starts[RUNS - 1] - starts[0];
    assert!(
        span < chrono::Duration::milliseconds(10_500),
        "{RUNS} runs took {span}: {starts:?}"
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
    let server = TestServer::start_with(|s| s.scheduler.interval_seconds = 1).await;
    let admin = server.admin_token().await;
    let (at, schedule) = create_once(&server, &admin, "tick").await;
    let id = schedule["id"].as_str().unwrap().to_owned();
    assert_eq!(time(&schedule["next_run_at"]), at);

    let calls = wait_for_calls(&server, &admin, &id, 1, Duration::from_secs(15)).await;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0]["status"], "succeeded");
    assert!(time(&calls[0]["started_at"]) >= at, "{calls:#?}");

    let path = format!("/api/admin/schedules/{id}");
    let schedule = eventually(
        "the schedule to switch off",
        Duration::from_secs(10),
        async || {
            let (_, schedule) = server.get(&path, Some(&admin)).await;
            (schedule["is_active"] == false).then_some(schedule)
        },
    )
    .await;
    assert!(schedule["next_run_at"].is_null(), "{schedule}");
    let last_run = time(&schedule["last_run_at"]);
    let started = time(&calls[0]["started_at"]);
    assert!(
        last_run <= started && started - last_run < chrono::Duration::seconds(1),
        "last_run_at {last_run} is not the run's start {started}"
    );
    assert!(!is_claimed(&server, &id).await);
    // Inactive and unclaimed, nothing can run it again; a short look confirms it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        calls_of(&server, &admin, &id).await.len(),
        1,
        "it ran again"
    );
}

/// Creates a once-schedule of `function` for the next whole second at least two seconds
/// ahead (whole, so the `HH:MM:SS` form loses nothing). A moment that is already past when
/// the request arrives (a slow machine) is refused; then it tries the next one.
async fn create_once(server: &TestServer, token: &str, function: &str) -> (DateTime<Utc>, Value) {
    use chrono::{DurationRound, TimeDelta};
    eventually(
        "a once moment still ahead",
        Duration::from_secs(30),
        async || {
            let at = (Utc::now() + TimeDelta::seconds(3))
                .duration_trunc(TimeDelta::seconds(1))
                .unwrap();
            let body = json!({
                "name": "once",
                "function_name": function,
                "schedule": {
                    "method": "once",
                    "date": at.format("%Y-%m-%d").to_string(),
                    "time": at.format("%H:%M:%S").to_string(),
                    "timezone": "UTC",
                },
            });
            let (status, schedule) = server.post("/api/admin/schedules", Some(token), body).await;
            if status == StatusCode::UNPROCESSABLE_ENTITY && at <= Utc::now() {
                return None;
            }
            assert_eq!(status, StatusCode::CREATED, "{schedule}");
            Some((at, schedule))
        },
    )
    .await
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
    let server = TestServer::start_with(|s| s.scheduler.interval_seconds = 1).await;
    let admin = server.admin_token().await;
    let (status, schedule) = server
        .post("/api/admin/schedules", Some(&admin), every_second("tick"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();
    let path = format!("/api/admin/schedules/{id}");
    let runs_seen = async |at_least: usize| {
        eventually("runs", Duration::from_secs(15), async || {
            let n = finished_calls(&server, &admin, &id).await.len();
            (n >= at_least).then_some(n)
        })
        .await
    };
    runs_seen(2).await;

    // Pause: a run already claimed may finish; once none is claimed, nothing more runs.
    let (status, paused) = server
        .patch(&path, Some(&admin), json!({"is_active": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert!(paused["next_run_at"].is_null(), "{paused}");
    eventually(
        "the claimed run to finish",
        Duration::from_secs(10),
        async || (!is_claimed(&server, &id).await).then_some(()),
    )
    .await;
    let settled = calls_of(&server, &admin, &id).await;
    assert!(
        settled.iter().all(|c| c["status"] != "running"),
        "{settled:#?}"
    );
    // Three one-second slots pass without a run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        calls_of(&server, &admin, &id).await.len(),
        settled.len(),
        "runs continued while paused"
    );

    // Resuming brings the runs back (so it was the pause that stopped them).
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
    assert!(next > time(&resumed["updated_at"]), "{resumed}");
    assert!(
        next <= Utc::now() + chrono::Duration::seconds(1),
        "{resumed}"
    );
    runs_seen(settled.len() + 1).await;

    // A bad change is refused and changes nothing.
    let (status, error) = server
        .patch(&path, Some(&admin), json!({"function_name": "nope"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, unchanged) = server.get(&path, Some(&admin)).await;
    assert_eq!(unchanged["function_name"], "tick");
    assert_eq!(unchanged["is_active"], true);

    // Delete: at most the run already claimed starts after it, and it starts at once.
    let (status, _) = server.delete(&path, Some(&admin)).await;
    let deleted = Utc::now();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = server.get(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, _) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Four one-second slots pass.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after: Vec<DateTime<Utc>> = calls_of(&server, &admin, &id)
        .await
        .iter()
        .map(|c| time(&c["started_at"]))
        .filter(|started| *started > deleted)
        .collect();
    assert!(
        after.len() <= 1
            && after
                .iter()
                .all(|t| *t < deleted + chrono::Duration::seconds(2)),
        "runs continued after the delete at {deleted}: {after:?}"
    );
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
    // Wait for the first run to be recorded: the call finished and the claim released.
    let next = eventually("the catch-up run", Duration::from_secs(15), async || {
        let (claimed, next): (bool, Option<String>) = app
            .database()
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT running_since IS NOT NULL, next_run_at FROM function_schedules
                     WHERE name = 'missed'",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?)
            })
            .await
            .unwrap();
        (!claimed && count_runs().await.unwrap() > 0).then_some(next)
    })
    .await;
    // Decisive without waiting longer: the next run is a whole interval from now, so no
    // further catch-up run can come before it.
    let next: DateTime<Utc> = next
        .expect("an interval schedule has a next run")
        .parse()
        .unwrap();
    assert!(
        next > Utc::now() + chrono::Duration::seconds(20),
        "the next run is computed from now, not from the missed slots: {next}"
    );
    assert_eq!(
        count_runs().await.unwrap(),
        1,
        "missed slots ran more than once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_the_scheduler_disabled_runs_no_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db").display().to_string();
    let url = db.clone();
    let quiet = TestServer::start_with(move |s| {
        s.database.url = url;
        s.scheduler.enabled = false;
        s.scheduler.interval_seconds = 1;
    })
    .await;
    let admin = quiet.admin_token().await;
    let (status, schedule) = quiet
        .post("/api/admin/schedules", Some(&admin), every_second("tick"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();
    let due = time(&schedule["next_run_at"]);

    // Three seconds after it fell due, it has not run.
    let quiet_until = due + chrono::Duration::seconds(3);
    tokio::time::sleep((quiet_until - Utc::now()).to_std().unwrap_or_default()).await;
    assert!(Utc::now() > due + chrono::Duration::seconds(3));
    assert_eq!(
        calls_of(&quiet, &admin, &id).await.len(),
        0,
        "a disabled scheduler ran it"
    );
    assert!(!is_claimed(&quiet, &id).await);

    // The same schedule runs as soon as a server with its scheduler on shares the database.
    let url = db.clone();
    let worker = TestServer::start_with(move |s| {
        s.database.url = url;
        s.scheduler.interval_seconds = 1;
    })
    .await;
    let calls = wait_for_calls(&quiet, &admin, &id, 1, Duration::from_secs(15)).await;
    assert!(
        calls.iter().any(|c| c["status"] == "succeeded"),
        "{calls:#?}"
    );
    drop(worker);
}
