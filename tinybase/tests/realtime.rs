//! Realtime over real HTTP with a real server-sent-events reader: record events from
//! every write path, filters, access rules at delivery time, resume after a disconnect,
//! channels, and the bad inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::records::{record_path, records_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::schemars::JsonSchema;
use tinybase::serde::Deserialize;
use tinybase::{Context, Result};

/// What `announce` publishes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Announcement {
    channel: String,
    text: String,
}

/// Publishes `text` on `channel`; returns how many clients got it.
#[tinybase::function(auth = "admin")]
async fn announce(ctx: Context, input: Announcement) -> Result<usize> {
    Ok(ctx
        .realtime()
        .publish(&input.channel, &json!({"text": input.text})))
}

/// Creates a note from inside a function.
#[tinybase::function(auth = "auth")]
async fn add_note(ctx: Context) -> Result<String> {
    Ok(ctx
        .records()
        .create("notes", json!({"title": "from a function", "rating": 5}))
        .await?
        .id)
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

/// Reads events from a `text/event-stream` response.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(server: &TestServer, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = server
            .client
            .get(server.url(&format!("/api/realtime{query}")));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event within `wait`, `None` if none came (comments are skipped); panics
    /// if the stream ends.
    async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Sse {
                    event: "message".to_owned(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && event.id.is_none() && block.trim_start().starts_with(':') {
                    continue; // a keep-alive comment
                }
                event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(event);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Err(_) => return None,
                Ok(chunk) => match chunk.unwrap() {
                    Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    None => panic!("the stream ended; left: {:?}", self.buffer),
                },
            }
        }
    }

    async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    /// Whether the stream ends (the server closed it) within `wait`.
    async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(None) | Err(_)) => return true,
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
            }
        }
    }

    /// The `connected` event's client id.
    async fn client_id(&mut self) -> String {
        let connected = self.next().await;
        assert_eq!(connected.event, "connected", "{connected:?}");
        connected.data["client_id"].as_str().unwrap().to_owned()
    }

    /// An anonymous stream, connected and holding `subscriptions`.
    async fn subscribed(server: &TestServer, subscriptions: Value) -> Self {
        let mut stream = Self::open(server, "", None).await;
        let client = stream.client_id().await;
        let (status, body) = subscribe(server, &client, None, subscriptions).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        stream
    }
}

async fn subscribe(
    server: &TestServer,
    client_id: &str,
    token: Option<&str>,
    subscriptions: Value,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/api/realtime/{client_id}/subscriptions"),
            token,
            json!({ "subscriptions": subscriptions }),
        )
        .await
}

async fn notes(server: &TestServer, admin: &str, options: Value) {
    server
        .create_collection(
            admin,
            json!({"name": "notes", "schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "rating", "type": "int"}]},
                "options": options}),
        )
        .await;
}

/// A server with a `notes` collection anyone may list and view, and an admin's token.
async fn public_notes() -> (TestServer, String) {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(
        &server,
        &admin,
        json!({"list_rule": "public", "view_rule": "public"}),
    )
    .await;
    (server, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_updates_and_deletes_arrive_in_order_from_every_write_path() {
    let (server, admin) = public_notes().await;
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    assert_eq!(client.len(), 32, "128 random bits in hex");
    let (status, body) = subscribe(&server, &client, None, json!([{"collection": "notes"}])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subscriptions"][0]["collection"], "notes");

    let created = server
        .create_record("notes", Some(&admin), json!({"title": "a", "rating": 1}))
        .await;
    let id = created["id"].as_str().unwrap();
    // A refused write sends nothing: the next event is the update.
    let (status, _) = server
        .post(&records_path("notes"), Some(&admin), json!({"rating": 2}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, updated) = server
        .patch(
            &record_path("notes", id),
            Some(&admin),
            json!({"rating": 2}),
        )
        .await;
    server.delete(&record_path("notes", id), Some(&admin)).await;
    let (status, from_function) = server
        .post("/api/functions/add_note", Some(&admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{from_function}");

    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(stream.next().await);
    }
    let actions: Vec<&str> = seen
        .iter()
        .map(|e| e.data["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "delete", "create"]);
    assert!(
        seen.iter()
            .all(|e| e.event == "record" && e.data["collection"] == "notes")
    );
    assert_eq!(seen[0].data["record"], created);
    assert_eq!(seen[1].data["record"], updated);
    assert_eq!(
        seen[2].data["record"], updated,
        "a delete carries the record as it was"
    );
    assert_eq!(seen[3].data["record"]["id"], from_function);
    let ids: Vec<i64> = seen
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(
        stream
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_single_record_subscriptions_pick_their_events() {
    let (server, admin) = public_notes().await;
    let watched = server
        .create_record(
            "notes",
            Some(&admin),
            json!({"title": "watched", "rating": 0}),
        )
        .await;
    let watched_id = watched["id"].as_str().unwrap();
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    let (status, _) = subscribe(
        &server,
        &client,
        None,
        json!([
            {"collection": "notes", "filter": "rating > 3 && title ~ 'GOOD'"},
            {"collection": "notes", "record_id": watched_id},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (title, rating) in [
        ("good one", 5),
        ("good but low", 1),
        ("bad", 5),
        ("Good too", 4),
    ] {
        server
            .create_record(
                "notes",
                Some(&admin),
                json!({"title": title, "rating": rating}),
            )
            .await;
    }
    server
        .patch(
            &record_path("notes", watched_id),
            Some(&admin),
            json!({"rating": 1}),
        )
        .await;
    let titles: Vec<String> = [
        stream.next().await,
        stream.next().await,
        stream.next().await,
    ]
    .iter()
    .map(|e| {
        e.data["record"]["data"]["title"]
            .as_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    assert_eq!(titles, ["good one", "Good too", "watched"]);
    assert!(
        stream
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_the_same_filter_each_get_what_it_picks() {
    let (server, admin) = public_notes().await;
    let mut streams = Vec::new();
    for filter in ["rating > 3", "rating > 3", "rating <= 3"] {
        streams.push(
            Stream::subscribed(&server, json!([{"collection": "notes", "filter": filter}])).await,
        );
    }
    // The first client leaves: the others keep the filter they share with it.
    drop(streams.remove(0));
    // A schema change loads a new version of the collection; a client subscribing with
    // the same text afterwards gets a filter of its own, and still the same events.
    let (status, body) = server
        .patch(
            "/api/collections/notes",
            Some(&admin),
            json!({"schema": {"fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "rating", "type": "int"},
                {"name": "mood", "type": "string"},
            ]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    streams.push(
        Stream::subscribed(
            &server,
            json!([{"collection": "notes", "filter": "rating > 3"}]),
        )
        .await,
    );
    for (title, rating) in [("five", 5), ("one", 1), ("four", 4)] {
        server
            .create_record(
                "notes",
                Some(&admin),
                json!({"title": title, "rating": rating}),
            )
            .await;
    }
    let mut got = Vec::new();
    for (stream, count) in streams.iter_mut().zip([2, 1, 2]) {
        let mut titles = Vec::new();
        for _ in 0..count {
            let event = stream.next().await;
            titles.push(
                event.data["record"]["data"]["title"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert!(
            stream
                .next_within(Duration::from_millis(300))
                .await
                .is_none()
        );
        got.push(titles);
    }
    assert_eq!(
        got,
        [vec!["five", "four"], vec!["one"], vec!["five", "four"]]
    );
}

/// The title of a record event's record.
fn title(event: &Sse) -> String {
    assert_eq!(event.event, "record", "{event:?}");
    event.data["record"]["data"]["title"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The titles of the next `count` events, then checks that no other event follows.
async fn only_titles(stream: &mut Stream, count: usize) -> Vec<String> {
    let mut titles = Vec::new();
    for _ in 0..count {
        titles.push(title(&stream.next().await));
    }
    let more = stream.next_within(Duration::from_millis(300)).await;
    assert!(more.is_none(), "one event too many: {more:?}");
    titles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_and_overlapping_subscriptions_take_each_change_once() {
    let (server, admin) = public_notes().await;
    let first = server
        .create_record(
            "notes",
            Some(&admin),
            json!({"title": "first", "rating": 1}),
        )
        .await;
    let first_id = first["id"].as_str().unwrap();
    let high = json!({"collection": "notes", "filter": "rating > 3"});
    let only_first = json!({"collection": "notes", "record_id": first_id});
    let mut moved = Stream::open(&server, "", None).await;
    let moved_id = moved.client_id().await;
    subscribe(&server, &moved_id, None, json!([high])).await;
    let leaving = Stream::subscribed(&server, json!([high])).await;
    // Two subscriptions that both take a record: its event still comes once.
    let mut overlapping = Stream::subscribed(&server, json!([high, {"collection": "notes"}])).await;
    // The same subscription twice, later replaced by none at all.
    let mut twice = Stream::open(&server, "", None).await;
    let twice_id = twice.client_id().await;
    subscribe(&server, &twice_id, None, json!([only_first, only_first])).await;
    // A client changes its mind after subscribing: its old filter no longer applies.
    let (status, body) = subscribe(&server, &moved_id, None, json!([only_first])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // One of the clients sharing the filter leaves; the other keeps getting its events.
    drop(leaving);

    server
        .create_record("notes", Some(&admin), json!({"title": "high", "rating": 5}))
        .await;
    let (status, body) = server
        .patch(
            &record_path("notes", first_id),
            Some(&admin),
            json!({"title": "first, raised", "rating": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(only_titles(&mut moved, 1).await, ["first, raised"]);
    assert_eq!(
        only_titles(&mut overlapping, 2).await,
        ["high", "first, raised"]
    );
    assert_eq!(only_titles(&mut twice, 1).await, ["first, raised"]);

    let (status, body) = subscribe(&server, &twice_id, None, json!([])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .patch(
            &record_path("notes", first_id),
            Some(&admin),
            json!({"title": "first, again", "rating": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(only_titles(&mut moved, 1).await, ["first, again"]);
    assert_eq!(only_titles(&mut overlapping, 1).await, ["first, again"]);
    assert_eq!(only_titles(&mut twice, 0).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_client_or_a_deleted_collection_leaves_no_subscription_behind() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let public = json!({"list_rule": "public", "view_rule": "public"});
    notes(&server, &admin, public.clone()).await;
    let (user, _) = server
        .register("reader@example.com", "reader-password")
        .await;
    let mut watcher = Stream::subscribed(&server, json!([{"collection": "notes"}])).await;
    // A client cut off when its token stops being valid is removed...
    let mut signed_out = Stream::open(&server, "", None).await;
    let signed_out_id = signed_out.client_id().await;
    subscribe(
        &server,
        &signed_out_id,
        Some(&user),
        json!([{"collection": "notes"}]),
    )
    .await;
    let (status, _) = server
        .post("/api/auth/logout", Some(&user), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    server
        .create_record("notes", Some(&admin), json!({"title": "one"}))
        .await;
    assert_eq!(signed_out.next().await.event, "error");
    assert_eq!(only_titles(&mut watcher, 1).await, ["one"]);
    // ...and a new client, which takes its place, gets nothing it did not ask for.
    let mut newcomer = Stream::open(&server, "", None).await;
    newcomer.client_id().await;
    server
        .create_record("notes", Some(&admin), json!({"title": "two"}))
        .await;
    assert_eq!(only_titles(&mut watcher, 1).await, ["two"]);
    assert_eq!(only_titles(&mut newcomer, 0).await, Vec::<String>::new());

    // A subscription is to a collection, not to a name: a new collection with the old
    // one's name is not its business.
    let (status, body) = server.delete("/api/collections/notes", Some(&admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    notes(&server, &admin, public).await;
    let mut new_watcher = Stream::subscribed(&server, json!([{"collection": "notes"}])).await;
    server
        .create_record("notes", Some(&admin), json!({"title": "three"}))
        .await;
    assert_eq!(only_titles(&mut new_watcher, 1).await, ["three"]);
    assert_eq!(only_titles(&mut watcher, 0).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_follow_the_rules_of_the_identity_that_subscribed() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(
        &server,
        &admin,
        json!({"list_rule": "owner", "view_rule": "owner", "create_rule": "auth"}),
    )
    .await;
    let (alice, _) = server.register("alice@example.com", "alice-password").await;
    let (bob, _) = server.register("bob@example.com", "bob-password").await;
    let mut streams = Vec::new();
    for token in [
        Some(alice.as_str()),
        Some(bob.as_str()),
        None,
        Some(admin.as_str()),
    ] {
        let mut stream = Stream::open(&server, "", None).await;
        let client = stream.client_id().await;
        let (status, _) =
            subscribe(&server, &client, token, json!([{"collection": "notes"}])).await;
        assert_eq!(status, StatusCode::OK);
        streams.push(stream);
    }
    let alices = server
        .create_record("notes", Some(&alice), json!({"title": "alice's"}))
        .await;
    let bobs = server
        .create_record("notes", Some(&bob), json!({"title": "bob's"}))
        .await;
    let [alice_stream, bob_stream, anonymous, admin_stream] = &mut streams[..] else {
        unreachable!()
    };
    assert_eq!(alice_stream.next().await.data["record"], alices);
    assert_eq!(bob_stream.next().await.data["record"], bobs);
    assert_eq!(admin_stream.next().await.data["record"], alices);
    assert_eq!(admin_stream.next().await.data["record"], bobs);
    for stream in [alice_stream, bob_stream, anonymous] {
        assert!(
            stream
                .next_within(Duration::from_millis(300))
                .await
                .is_none(),
            "someone saw another user's record"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_gets_exactly_what_it_missed_or_a_reset() {
    let (server, admin) = public_notes().await;
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    subscribe(&server, &client, None, json!([{"collection": "notes"}])).await;
    server
        .create_record("notes", Some(&admin), json!({"title": "seen"}))
        .await;
    let seen = stream.next().await;
    let last_id = seen.id.clone().unwrap();
    drop(stream);
    let mut missed = Vec::new();
    for title in ["missed 1", "missed 2", "missed 3"] {
        missed.push(
            server
                .create_record("notes", Some(&admin), json!({"title": title}))
                .await,
        );
    }
    let mut resumed = Stream::open(&server, &format!("?client_id={client}"), Some(&last_id)).await;
    assert_eq!(
        resumed.client_id().await,
        client,
        "the id and subscriptions are kept"
    );
    for record in &missed {
        assert_eq!(&resumed.next().await.data["record"], record);
    }
    let live = server
        .create_record("notes", Some(&admin), json!({"title": "live"}))
        .await;
    assert_eq!(resumed.next().await.data["record"], live);
    assert!(
        resumed
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    drop(resumed);

    // Once the log no longer reaches back that far, the client is told to reload.
    tinybase::changes::prune(server.app.database(), 0, 1)
        .await
        .unwrap();
    server
        .create_record("notes", Some(&admin), json!({"title": "after pruning"}))
        .await;
    let mut stale = Stream::open(&server, &format!("?client_id={client}"), Some(&last_id)).await;
    assert_eq!(stale.client_id().await, client);
    assert_eq!(stale.next().await.event, "reset");
    // `?last_event_id=` works where headers cannot be set.
    let mut by_query = Stream::open(
        &server,
        &format!("?client_id={client}&last_event_id={last_id}"),
        None,
    )
    .await;
    by_query.client_id().await;
    assert_eq!(by_query.next().await.event, "reset");
    drop(by_query);

    // A client the server has forgotten (or never knew) gets a new id and a reset, so it
    // knows to subscribe again and reload.
    let mut forgotten = Stream::open(
        &server,
        "?client_id=0123456789abcdef0123456789abcdef",
        Some(&last_id),
    )
    .await;
    let new_id = forgotten.client_id().await;
    assert_ne!(new_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(forgotten.next().await.event, "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_delivery_with_an_error_event() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(
        &server,
        &admin,
        json!({"list_rule": "auth", "view_rule": "auth"}),
    )
    .await;
    let (user, _) = server
        .register("reader@example.com", "reader-password")
        .await;
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    subscribe(
        &server,
        &client,
        Some(&user),
        json!([{"collection": "notes"}]),
    )
    .await;
    server
        .create_record("notes", Some(&admin), json!({"title": "before"}))
        .await;
    assert_eq!(stream.next().await.event, "record");
    let (status, _) = server
        .post("/api/auth/logout", Some(&user), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Tokens are checked again at most a second apart.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    server
        .create_record("notes", Some(&admin), json!({"title": "after"}))
        .await;
    let error = stream.next().await;
    assert_eq!(error.event, "error", "{error:?}");
    assert_eq!(error.data["error"]["code"], "unauthorized");
    assert!(stream.ends_within(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_publish_to_channel_subscribers() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let mut listener = Stream::open(&server, "", None).await;
    let client = listener.client_id().await;
    let (status, _) = subscribe(&server, &client, None, json!([{"channel": "news"}])).await;
    assert_eq!(status, StatusCode::OK);
    let mut elsewhere = Stream::open(&server, "", None).await;
    let other = elsewhere.client_id().await;
    subscribe(&server, &other, None, json!([{"channel": "sports"}])).await;
    let (status, delivered) = server
        .post(
            "/api/functions/announce",
            Some(&admin),
            json!({"channel": "news", "text": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{delivered}");
    assert_eq!(delivered, 1);
    let message = listener.next().await;
    assert_eq!(message.event, "message");
    assert_eq!(
        message.data,
        json!({"channel": "news", "data": {"text": "hello"}})
    );
    assert!(
        elsewhere
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_subscriptions_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    notes(&server, &admin, json!({})).await;
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    let response = subscribe(&server, "nobody", None, json!([{"collection": "notes"}])).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = subscribe(&server, &client, None, json!([{"collection": "missing"}])).await;
    assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = subscribe(
        &server,
        &client,
        None,
        json!([{"collection": "notes", "filter": "rating >"}]),
    )
    .await;
    assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    let too_many: Vec<Value> = (0..101).map(|_| json!({"collection": "notes"})).collect();
    let response = subscribe(&server, &client, None, Value::Array(too_many)).await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let response = subscribe(
        &server,
        &client,
        None,
        json!([{"channel": "x", "collection": "notes"}]),
    )
    .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let response = subscribe(&server, &client, Some("tb_not_a_token"), json!([])).await;
    assert_eq!(response.0, StatusCode::UNAUTHORIZED);
    // None of that subscribed the client to anything.
    server
        .create_record("notes", Some(&admin), json!({"title": "quiet"}))
        .await;
    assert!(
        stream
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_limit_per_client_is_a_setting() {
    let server = TestServer::start_with(|s| s.realtime.max_subscriptions = 2).await;
    let admin = server.admin_token().await;
    notes(
        &server,
        &admin,
        json!({"list_rule": "public", "view_rule": "public"}),
    )
    .await;
    let mut stream = Stream::open(&server, "", None).await;
    let client = stream.client_id().await;
    let two = json!([{"collection": "notes"}, {"channel": "news"}]);
    let (status, accepted) = subscribe(&server, &client, None, two).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let three = json!([{"collection": "notes"}, {"channel": "news"}, {"channel": "more"}]);
    let response = subscribe(&server, &client, None, three).await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        response.1.to_string().contains("at most 2"),
        "{}",
        response.1
    );
    // The two accepted subscriptions still deliver.
    let record = server
        .create_record("notes", Some(&admin), json!({"title": "still here"}))
        .await;
    assert_eq!(stream.next().await.data["record"], record);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_subscribers_each_get_every_event() {
    let (server, admin) = public_notes().await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(Stream::subscribed(&server, json!([{"collection": "notes"}])).await);
    }
    let mut ids = Vec::new();
    for n in 0..20 {
        let created = server
            .create_record("notes", Some(&admin), json!({"title": format!("n{n}")}))
            .await;
        ids.push(created["id"].clone());
    }
    for stream in &mut streams {
        let mut got = Vec::new();
        for _ in 0..20 {
            got.push(stream.next().await.data["record"]["id"].clone());
        }
        assert_eq!(got, ids);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expression_rules_decide_delivery_even_through_relations() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    server
        .create_collection(
            &admin,
            json!({"name": "teams", "options": {"view_rule": "auth"},
                   "schema": {"fields": [{"name": "lead", "type": "string"}]}}),
        )
        .await;
    // Decided in memory (rating, owner) or, for the team's lead, with SQL.
    let rule = "rating = 5 || owner_id = @request.auth.id || team.lead = @request.auth.email";
    server
        .create_collection(
            &admin,
            json!({"name": "notes",
                   "options": {"list_rule": rule, "view_rule": rule},
                   "schema": {"fields": [
                       {"name": "title", "type": "string"},
                       {"name": "rating", "type": "int"},
                       {"name": "team", "type": "relation", "collection": "teams"}]}}),
        )
        .await;
    let (alice, _) = server.register("alice@example.com", "alice-password").await;
    let (bob, _) = server.register("bob@example.com", "bob-password").await;
    let team = server
        .create_record("teams", Some(&admin), json!({"lead": "bob@example.com"}))
        .await;
    let mut streams = Vec::new();
    for token in [Some(alice.as_str()), Some(bob.as_str()), None] {
        let mut stream = Stream::open(&server, "", None).await;
        let client = stream.client_id().await;
        let (status, _) =
            subscribe(&server, &client, token, json!([{"collection": "notes"}])).await;
        assert_eq!(status, StatusCode::OK);
        streams.push(stream);
    }
    let a1 = server
        .create_record(
            "notes",
            Some(&alice),
            json!({"title": "a1", "team": team["id"]}),
        )
        .await;
    let a2 = server
        .create_record("notes", Some(&alice), json!({"title": "a2"}))
        .await;
    let b1 = server
        .create_record("notes", Some(&bob), json!({"title": "b1"}))
        .await;
    // Everyone may see this one; it comes last, so what came before it is all there is.
    let everyone = server
        .create_record("notes", Some(&admin), json!({"title": "all", "rating": 5}))
        .await;
    let [alice_stream, bob_stream, anonymous] = &mut streams[..] else {
        unreachable!()
    };
    for (stream, expected) in [
        (alice_stream, vec![&a1, &a2, &everyone]),
        (bob_stream, vec![&a1, &b1, &everyone]),
        (anonymous, vec![&everyone]),
    ] {
        for record in expected {
            assert_eq!(&stream.next().await.data["record"], record);
        }
    }
}

/// A raw connection to `server`, with `head` sent in one write (or in two, `pause` apart,
/// when `split_at` is given).
async fn raw_request(
    server: &TestServer,
    head: &str,
    split_at: Option<usize>,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    match split_at {
        None => tcp.write_all(head.as_bytes()).await.unwrap(),
        Some(at) => {
            tcp.write_all(&head.as_bytes()[..at]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            tcp.write_all(&head.as_bytes()[at..]).await.unwrap();
        }
    }
    tcp
}

/// Reads from `tcp` until `text` has arrived (or the connection ends, or 10 s pass) and
/// returns everything read.
async fn read_until(tcp: &mut tokio::net::TcpStream, text: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains(text) {
        let mut buf = [0; 4096];
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

const STREAM_HEAD: &str = "GET /api/realtime HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_sent_chunked_with_the_usual_headers_and_then_closed() {
    let server = TestServer::start().await;
    let mut tcp = raw_request(&server, STREAM_HEAD, None).await;
    let answer = read_until(&mut tcp, "event: connected").await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole head");
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK", "{head}");
    for expected in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "transfer-encoding: chunked",
        "connection: close",
    ] {
        assert!(lines.contains(&expected), "no {expected:?} in {head}");
    }
    for name in ["x-request-id: ", "date: "] {
        assert!(
            lines.iter().any(|l| l.starts_with(name)),
            "no {name} in {head}"
        );
    }
    // One chunk: its size in hex, then exactly that many bytes, the `connected` event.
    let (size, rest) = body.split_once("\r\n").unwrap();
    let size = usize::from_str_radix(size, 16).unwrap();
    let event = &rest[..size];
    assert!(event.starts_with("event: connected\n"), "{event:?}");
    assert!(event.ends_with("\n\n"), "{event:?}");
    assert_eq!(&rest[size..size + 2], "\r\n");

    // A refused stream is answered with a length and closed: no chunked error.
    let mut tcp = raw_request(
        &server,
        "GET /api/realtime HTTP/1.1\r\nhost: x\r\nlast-event-id: soon\r\n\r\n",
        None,
    )
    .await;
    let answer = read_until(&mut tcp, "\u{0}never").await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}\r\n", body.len())),
        "{head}"
    );
    assert!(head.contains("connection: close"), "{head}");
    let error: Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["error"]["code"], "bad_request", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_its_connection_stops_receiving_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let mut tcp = raw_request(&server, STREAM_HEAD, None).await;
    let answer = read_until(&mut tcp, "\n\n").await;
    let start = answer.find("{\"client_id\":\"").unwrap() + 14;
    let client = &answer[start..start + answer[start..].find('"').unwrap()];
    let (status, _) = subscribe(&server, client, None, json!([{"channel": "news"}])).await;
    assert_eq!(status, StatusCode::OK);
    let announce = || async {
        server
            .post(
                "/api/functions/announce",
                Some(&admin),
                json!({"channel": "news", "text": "hello"}),
            )
            .await
            .1
    };
    assert_eq!(announce().await, 1);
    drop(tcp);
    // Noticed from the connection itself, not from failing to write the next event to
    // it (nothing is published meanwhile) nor from the next keep-alive comment (20 s).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        announce().await,
        0,
        "a closed stream still counted as listening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_request_arriving_in_pieces_or_with_a_body_is_still_served() {
    let server = TestServer::start().await;
    // The head in two packets, and a request with a (meaningless) body: both take the
    // general path, which keeps the connection open after the response.
    let with_body = "GET /api/realtime HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi";
    for (head, split) in [(STREAM_HEAD, Some(20)), (with_body, None)] {
        let mut tcp = raw_request(&server, head, split).await;
        let answer = read_until(&mut tcp, "event: connected").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.contains("content-type: text/event-stream"),
            "{answer}"
        );
        assert!(answer.contains("event: connected"), "{answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
    }
}
