//! The floor of the load benchmark (`tests/bench/run.py`): how fast this machine can answer
//! "get one record by id" with TinyBase's HTTP stack (axum 0.8 on a multi-threaded tokio
//! runtime, HTTP/1.1) and nothing else: no database, no middleware, no JSON encoding.
//!
//! It answers `GET /api/collections/posts/records/{id}` with the same bytes for every id
//! (the benchmark passes a record TinyBase served, so the body has the same size) and
//! `GET /api/health` with `{}`. The benchmark reports TinyBase's get as a fraction of it.
//!
//! Usage: `bench_floor <host:port> <body.json>`

use std::error::Error;
use std::process::ExitCode;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header;
use axum::routing::get;

const USAGE: &str = "usage: bench_floor <host:port> <body.json>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_floor: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(body_path), None) = (args.next(), args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let record = Bytes::from(std::fs::read(&body_path)?);
    // The same runtime TinyBase's `serve` builds: one worker thread per CPU.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Router::new()
            .route(
                "/api/collections/posts/records/{id}",
                // The id is extracted like a real handler would, then ignored.
                get(move |Path(_id): Path<String>| {
                    let body = record.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], body) }
                }),
            )
            .route(
                "/api/health",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
            );
        let listener = tokio::net::TcpListener::bind(&address).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}
