//! Schedules across processes: two `serve` processes of the app on one database file,
//! both with their scheduler on, run each due slot once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::{Server, workdir};
use serde_json::{Value, json};

const ENV: [(&str, &str); 3] = [
    ("TINYBASE_ADMIN_EMAIL", "sched@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "sched-password"),
    ("TINYBASE_SCHEDULER_INTERVAL_SECONDS", "1"),
];

/// An admin's view of one server's API.
struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    async fn new(server: &Server) -> Self {
        let (status, body) =
            common::login(&server.base, "sched@example.com", "sched-password").await;
        assert_eq!(status, 200, "{body}");
        Self {
            base: server.base.clone(),
            token: body["token"].as_str().unwrap().to_owned(),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every scheduled call, by schedule id, each list in the order the runs started.
    async fn scheduled_calls(&self) -> BTreeMap<String, Vec<Value>> {
        let (status, page) = self
            .send(
                reqwest::Method::GET,
                "/api/admin/functions/calls?trigger_type=schedule&per_page=500",
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(page["total_items"].as_u64().unwrap() < 500, "{page}");
        let mut calls: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for call in page["items"].as_array().unwrap() {
            let id = call["trigger_id"].as_str().unwrap().to_owned();
            calls.entry(id).or_default().push(call.clone());
        }
        for list in calls.values_mut() {
            list.sort_by_key(|c| time(&c["started_at"]));
        }
        calls
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Polls `probe` until it gives a value, for at most `limit`.
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_run_each_slot_once() {
    let (_guard, dir) = workdir();
    let mut first = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    let mut second = Server::start(&dir, &["--port", "0"], &ENV).unwrap();
    for server in [&mut first, &mut second] {
        assert!(
            server
                .wait_for_log(Duration::from_secs(10), |l| l.contains("scheduler started"))
                .is_some(),
            "{:#?}",
            server.log
        );
    }
    let one = Api::new(&first).await;
    let two = Api::new(&second).await;

    // Five once-schedules due at the same moment, made through the first process (which
    // wakes for them) while the second polls every second; both wake at that moment.
    let once_ids = eventually(
        "once moments still ahead",
        Duration::from_secs(30),
        async || {
            let at = (Utc::now() + TimeDelta::seconds(3))
                .duration_trunc(TimeDelta::seconds(1))
                .unwrap();
            let mut ids = Vec::new();
            for n in 0..5 {
                let body = json!({
                    "name": format!("slot {n}"),
                    "function_name": "short_job",
                    "schedule": {"method": "once", "date": at.format("%Y-%m-%d").to_string(),
                                 "time": at.format("%H:%M:%S").to_string()},
                });
                let (status, schedule) = one
                    .send(reqwest::Method::POST, "/api/admin/schedules", Some(body))
                    .await;
                if status == 422 && at <= Utc::now() {
                    // Too slow to make them all before the moment: remove and try again.
                    for id in &ids {
                        one.send(
                            reqwest::Method::DELETE,
                            &format!("/api/admin/schedules/{id}"),
                            None,
                        )
                        .await;
                    }
                    return None;
                }
                assert_eq!(status, 201, "{schedule}");
                ids.push(schedule["id"].as_str().unwrap().to_owned());
            }
            Some(ids)
        },
    )
    .await;
    // Two every-second schedules, made through the second process.
    let mut interval_ids = Vec::new();
    for n in 0..2 {
        let body = json!({
            "name": format!("every second {n}"),
            "function_name": "short_job",
            "schedule": {"method": "interval", "unit": "seconds", "value": 1},
        });
        let (status, schedule) = two
            .send(reqwest::Method::POST, "/api/admin/schedules", Some(body))
            .await;
        assert_eq!(status, 201, "{schedule}");
        interval_ids.push(schedule["id"].as_str().unwrap().to_owned());
    }

    // Wait until every once-schedule has switched itself off (its run finished) and each
    // interval schedule has run six times.
    let calls = eventually("the runs", Duration::from_secs(60), async || {
        let (status, page) = one
            .send(
                reqwest::Method::GET,
                "/api/admin/schedules?is_active=false&per_page=50",
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let finished_once = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| once_ids.contains(&s["id"].as_str().unwrap().to_owned()))
            .count();
        let calls = two.scheduled_calls().await;
        let intervals_done = interval_ids.iter().all(|id| {
            calls
                .get(id)
                .is_some_and(|runs| runs.iter().filter(|c| c["status"] != "running").count() >= 6)
        });
        (finished_once == once_ids.len() && intervals_done).then_some(calls)
    })
    .await;

    // Inactive and unclaimed, a once-schedule cannot run again: one call each is final.
    for id in &once_ids {
        let runs = &calls[id];
        assert_eq!(
            runs.len(),
            1,
            "slot of {id} ran {} times: {runs:#?}",
            runs.len()
        );
        assert_eq!(runs[0]["status"], "succeeded", "{runs:#?}");
    }
    // An interval schedule's runs start a whole interval apart: a slot run by both
    // processes would show two starts at (nearly) the same time.
    for id in &interval_ids {
        let starts: Vec<DateTime<Utc>> = calls[id].iter().map(|c| time(&c["started_at"])).collect();
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= TimeDelta::milliseconds(999),
                "schedule {id} ran twice within a second: {starts:?}"
            );
        }
    }
    // Both servers answer for the same history.
    assert_eq!(one.scheduled_calls().await.len(), calls.len());
}
