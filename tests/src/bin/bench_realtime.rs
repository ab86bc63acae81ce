//! The realtime benchmark's client (`tests/bench/realtime.py` starts it): many server-sent
//! event streams against TinyBase or PocketBase, optionally subscribed to a collection,
//! optionally with a writer creating records at a fixed rate while every subscriber
//! measures how long each record took to reach it.
//!
//! ```text
//! bench_realtime --server tinybase|pocketbase --base http://127.0.0.1:PORT
//!                --connections N [--subscribe posts [--filter F]] [--token T]
//!                [--writes-per-second R --seconds S --create-token T]
//! ```
//!
//! It opens the streams (at most 100 handshakes at a time), subscribes each one, prints
//! `ready N` and then either holds the streams until its standard input closes (the
//! harness measures the server meanwhile), or runs the writer for S seconds, waits until
//! every subscriber has seen every record (or 5 s pass) and prints one JSON line:
//! `{"writes", "write_errors", "expected", "delivered", "p50_ms", "p99_ms", "max_ms"}`.
//!
//! Latency is measured from just before the create request is sent to the moment a
//! subscriber has read the event: the commit happens in between, so this is an upper bound
//! of commit-to-client latency, and the same bound for both servers. Each record's title
//! carries its send time (`rt-<nanoseconds since the Unix epoch>`).

use std::error::Error;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::sync::Mutex;

use tokio::sync::Semaphore;

type BoxError = Box<dyn Error + Send + Sync>;

const USAGE: &str = "usage: bench_realtime --server tinybase|pocketbase --base URL \
--connections N [--subscribe COLLECTION [--filter F]] [--token T] \
[--writes-per-second R --seconds S --create-token T]";

/// How many streams may be in their handshake (connect + first event + subscribe) at once.
const HANDSHAKES_AT_ONCE: usize = 100;
/// How long the writer waits after its last write for the events still in flight.
const DRAIN: Duration = Duration::from_secs(5);
/// How long the writer waits for its unanswered writes after sending the last one.
const WRITE_GRACE: Duration = Duration::from_secs(30);
/// The marker in a record's title that carries its send time.
const MARKER: &[u8] = b"\"title\":\"rt-";
/// What every record event of both servers carries once.
const ACTION: &[u8] = b"\"action\":\"";

#[derive(Clone, Copy, PartialEq)]
enum Server {
    TinyBase,
    PocketBase,
}

struct Args {
    server: Server,
    base: String,
    connections: usize,
    subscribe: Option<String>,
    filter: Option<String>,
    token: Option<String>,
    writes_per_second: u64,
    seconds: u64,
    create_token: Option<String>,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        server: Server::TinyBase,
        base: String::new(),
        connections: 0,
        subscribe: None,
        filter: None,
        token: None,
        writes_per_second: 0,
        seconds: 0,
        create_token: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--server" => {
                args.server = match value.as_str() {
                    "tinybase" => Server::TinyBase,
                    "pocketbase" => Server::PocketBase,
                    _ => return Err(USAGE.into()),
                }
            }
            "--base" => args.base = value.trim_end_matches('/').to_string(),
            "--connections" => args.connections = value.parse()?,
            "--subscribe" => args.subscribe = Some(value),
            "--filter" => args.filter = Some(value),
            "--token" => args.token = Some(value),
            "--writes-per-second" => args.writes_per_second = value.parse()?,
            "--seconds" => args.seconds = value.parse()?,
            "--create-token" => args.create_token = Some(value),
            _ => return Err(USAGE.into()),
        }
    }
    if args.base.is_empty() || args.connections == 0 {
        return Err(USAGE.into());
    }
    if args.writes_per_second > 0 && (args.subscribe.is_none() || args.create_token.is_none()) {
        return Err("--writes-per-second needs --subscribe and --create-token".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(args))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_realtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// What every subscriber adds to while it reads (a std mutex: held for one append, never
/// across an await).
#[derive(Default)]
struct Tally {
    /// Record events read, benchmark records or not.
    events: AtomicU64,
    /// Benchmark records read (those whose latency is in `latencies_us`).
    delivered: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

async fn run(args: Args) -> Result<(), BoxError> {
    let args = Arc::new(args);
    // No pool limit, no timeouts: every stream is its own long-lived connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()?;
    let tally = Arc::new(Tally::default());
    let gate = Arc::new(Semaphore::new(HANDSHAKES_AT_ONCE));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(1024);
    for _ in 0..args.connections {
        let (client, args, tally, gate, ready) = (
            client.clone(),
            args.clone(),
            tally.clone(),
            gate.clone(),
            ready_tx.clone(),
        );
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            match open_stream(&client, &args).await {
                Ok(stream) => {
                    drop(permit);
                    let _ = ready.send(Ok(())).await;
                    read_events(stream, &tally).await;
                }
                Err(err) => {
                    let _ = ready.send(Err(err.to_string())).await;
                }
            }
        });
    }
    drop(ready_tx);
    for _ in 0..args.connections {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(err)) => return Err(format!("a stream failed to open: {err}").into()),
            None => return Err("the streams ended before all opened".into()),
        }
    }
    println!("ready {}", args.connections);

    if args.writes_per_second == 0 {
        // Hold every stream open until the harness closes our standard input.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        println!("{{\"events\": {}}}", tally.events.load(Ordering::Relaxed));
        return Ok(());
    }
    let (writes, write_errors) = write_at_rate(&client, &args).await;
    let expected = (writes - write_errors) * args.connections as u64;
    let deadline = Instant::now() + DRAIN;
    while tally.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = std::mem::take(&mut *lock(&tally.latencies_us));
    latencies.sort_unstable();
    let at = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i.min(latencies.len() - 1)] as f64 / 1000.0
    };
    println!(
        "{{\"writes\": {writes}, \"write_errors\": {write_errors}, \"expected\": {expected}, \
         \"delivered\": {}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}}}",
        latencies.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

/// Connects, reads the first event (the client id) and subscribes; returns the stream.
async fn open_stream(client: &reqwest::Client, args: &Args) -> Result<reqwest::Response, BoxError> {
    let mut response = client
        .get(format!("{}/api/realtime", args.base))
        .header("accept", "text/event-stream")
        .send()
        .await?
        .error_for_status()?;
    let mut buffer = Vec::new();
    let first = loop {
        let chunk = response
            .chunk()
            .await?
            .ok_or("the stream ended before its first event")?;
        buffer.extend_from_slice(&chunk);
        if let Some(end) = find(&buffer, b"\n\n") {
            break String::from_utf8_lossy(&buffer[..end]).into_owned();
        }
    };
    let Some(collection) = &args.subscribe else {
        return Ok(response);
    };
    let data = first
        .lines()
        .find_map(|line| line.strip_prefix("data:"))
        .ok_or("the first event has no data")?;
    let data: serde_json::Value = serde_json::from_str(data.trim())?;
    let request = match args.server {
        Server::TinyBase => {
            let id = data["client_id"].as_str().ok_or("no client_id")?;
            client
                .post(format!("{}/api/realtime/{id}/subscriptions", args.base))
                .json(&serde_json::json!({"subscriptions": [
                    {"collection": collection, "filter": args.filter}
                ]}))
        }
        Server::PocketBase => {
            let id = data["clientId"].as_str().ok_or("no clientId")?;
            // PocketBase takes a topic's filter as JSON options in the topic itself.
            let topic = match &args.filter {
                Some(filter) => {
                    let options = serde_json::json!({"query": {"filter": filter}});
                    format!(
                        "{collection}/*?options={}",
                        percent_encode(&options.to_string())
                    )
                }
                None => format!("{collection}/*"),
            };
            client
                .post(format!("{}/api/realtime", args.base))
                .json(&serde_json::json!({"clientId": id, "subscriptions": [topic]}))
        }
    };
    let request = match (&args.token, args.server) {
        (Some(token), Server::TinyBase) => request.bearer_auth(token),
        (Some(token), Server::PocketBase) => request.header("authorization", token),
        (None, _) => request,
    };
    request.send().await?.error_for_status()?;
    Ok(response)
}

/// Reads the stream to its end, timing every benchmark record it carries.
async fn read_events(mut stream: reqwest::Response, tally: &Tally) {
    let mut mine = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    while let Ok(Some(chunk)) = stream.chunk().await {
        let now = unix_nanos();
        let events = chunk.windows(ACTION.len()).filter(|w| *w == ACTION).count();
        tally.events.fetch_add(events as u64, Ordering::Relaxed);
        // A marker may straddle two chunks: search the tail of the last one too.
        carry.extend_from_slice(&chunk);
        let mut at = 0;
        while let Some(found) = find(&carry[at..], MARKER) {
            let start = at + found + MARKER.len();
            let digits = carry[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if start + digits >= carry.len() {
                // The number may go on in the next chunk.
                at += found;
                break;
            }
            if let Some(sent) = std::str::from_utf8(&carry[start..start + digits])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                mine.push(now.saturating_sub(sent) / 1000);
            }
            at = start + digits;
        }
        let keep_from = carry.len().saturating_sub(MARKER.len() + 20).max(at);
        carry.drain(..keep_from.min(carry.len()));
        if !mine.is_empty() {
            // Latencies first, then the count the writer waits on: once it sees every
            // event delivered, every latency is in.
            let n = mine.len() as u64;
            lock(&tally.latencies_us).append(&mut mine);
            tally.delivered.fetch_add(n, Ordering::Relaxed);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Creates records at `writes_per_second` for `seconds`; returns (writes, failed writes).
async fn write_at_rate(client: &reqwest::Client, args: &Args) -> (u64, u64) {
    let (Some(collection), Some(token)) = (&args.subscribe, &args.create_token) else {
        return (0, 0);
    };
    let url = format!("{}/api/collections/{collection}/records", args.base);
    let errors = Arc::new(AtomicU64::new(0));
    let total = args.writes_per_second * args.seconds;
    let interval = Duration::from_nanos(1_000_000_000 / args.writes_per_second.max(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut writes = tokio::task::JoinSet::new();
    for _ in 0..total {
        ticker.tick().await;
        let title = format!("rt-{}", unix_nanos());
        // Both servers take the fields at the top level of the body.
        let body = serde_json::json!({"title": title, "published": true,
                                      "tags": ["bench"], "rating": 3});
        let request = client.post(&url).json(&body);
        let request = match args.server {
            Server::TinyBase => request.bearer_auth(token),
            Server::PocketBase => request.header("authorization", token.as_str()),
        };
        let errors = errors.clone();
        writes.spawn(async move {
            let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    // A server that cannot keep up would keep the run going for ever: writes still
    // unanswered this long after the last was sent count as failed.
    let finished = tokio::time::timeout(WRITE_GRACE, async {
        while writes.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        errors.fetch_add(writes.len() as u64, Ordering::Relaxed);
        writes.abort_all();
    }
    (total, errors.load(Ordering::Relaxed))
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
