//! The webhook receiver of the hook benchmark (`tests/bench/hooks.py`): answers every
//! `POST` with 204 and counts them; `GET /count` tells how many arrived.
//!
//! A receiver normally runs on another machine. Here it shares two cores with the server
//! and the load generator, so it must cost as little as possible, or the benchmark would
//! measure the receiver instead of what a webhook costs the server: one thread, no
//! parsing beyond HTTP, the body read and dropped.
//!
//! Usage: `bench_webhook_sink <host:port>`; it prints `listening on http://ADDR` once bound.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};

const USAGE: &str = "usage: bench_webhook_sink <host:port>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_webhook_sink: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), None) = (args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&received);
        let app = Router::new()
            .route(
                "/count",
                get(move || {
                    let n = received.load(Ordering::Relaxed);
                    async move { n.to_string() }
                }),
            )
            .route(
                "/{*path}",
                post(move |_body: Bytes| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    async { StatusCode::NO_CONTENT }
                }),
            );
        let listener = tokio::net::TcpListener::bind(&address).await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
