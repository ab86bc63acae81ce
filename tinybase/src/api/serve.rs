//! Serving the router on a TCP listener: HTTP/1.1 connections with deadlines against slow
//! clients, and a graceful shutdown.
//!
//! `axum::serve` takes no configuration (no timeouts, no parser limits), so connections are
//! accepted and driven here with hyper directly, the way `axum::serve` does it: one task
//! per connection, in-flight requests finished on shutdown. Each connection's task also
//! drops it when its [`Watch`] deadline passes (see `slow_clients.rs`). A connection that
//! opens with a realtime stream's request is served without hyper (see
//! `event_streams.rs`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use super::event_streams;
use super::slow_clients::{Timeouts, TrackedBody, Watch, WatchedIo};
use crate::config::ServerSettings;
use crate::constants::{PARSER_MAX_HEAD_BYTES, PARSER_MAX_HEADERS};

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests
/// in progress to finish.
pub(crate) async fn serve(
    mut listener: TcpListener,
    router: Router,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let timeouts = Timeouts {
        header: seconds(settings.header_timeout_seconds),
        keep_alive: seconds(settings.keep_alive_timeout_seconds),
    };
    // Dropped when shutting down: every connection task then finishes what it is doing.
    let (stop_tx, stop_rx) = watch::channel(());
    // Each connection task holds a clone; `closed()` completes when all are gone.
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            // axum's accept retries on connection errors and backs off when out of files.
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let connection = Connection {
            router: router.clone(),
            remote,
            timeouts,
        };
        let stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            connection.run(stream, stop).await;
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
}

fn seconds(value: u64) -> Option<Duration> {
    (value > 0).then(|| Duration::from_secs(value))
}

/// The future of one request's response, as hyper drives it.
type BoxedResponse =
    Pin<Box<dyn Future<Output = Result<axum::http::Response<TrackedBody>, Infallible>> + Send>>;

/// One accepted connection.
struct Connection {
    router: Router,
    remote: SocketAddr,
    timeouts: Timeouts,
}

impl Connection {
    /// Serves requests until the client is done, too slow, or the server shuts down.
    async fn run(self, mut stream: TcpStream, mut stop: watch::Receiver<()>) {
        // Responses written in several pieces (files, list pages, event streams) must not
        // wait on Nagle's algorithm: its last small segment waited for the client's
        // delayed acknowledgement, 40 ms per file download. hyper already gathers each
        // response's head and body into as few writes as it can.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not turn off Nagle's algorithm on a connection");
        }
        // A new connection is idle until its first bytes: the keep-alive timeout applies.
        let first_bytes = tokio::select! {
            taken = event_streams::take_stream_request(&mut stream) => taken,
            _ = stop.changed() => return,
            () = sleep_until(self.timeouts.keep_alive.map(|t| tokio::time::Instant::now() + t)) => {
                tracing::trace!(client = %self.remote, "closed an idle connection");
                return;
            }
        };
        match first_bytes {
            Ok(Some(request)) => {
                event_streams::serve(self.router, self.remote, stream, request).await;
            }
            // Boxed: hyper's connection state is large, and a realtime stream's task above
            // should not carry room for it.
            Ok(None) => Box::pin(self.serve_with_hyper(stream, stop)).await,
            Err(err) => tracing::trace!(%err, "connection ended before its first request"),
        }
    }

    /// Serves requests with hyper until the client is done, too slow, or the server shuts
    /// down.
    async fn serve_with_hyper(self, stream: TcpStream, mut stop: watch::Receiver<()>) {
        let watch = Watch::new(self.timeouts);
        let io = TokioIo::new(WatchedIo::new(stream, Arc::clone(&watch)));
        let router = self.router;
        let remote = self.remote;
        let requests = Arc::clone(&watch);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let in_flight = requests.request_started();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            let router = router.clone();
            // Boxed: hyper keeps a slot the size of this future for the connection's whole
            // life (0.6 KiB of router and middleware state), while a box lives only as long
            // as the request is being handled, and a response body that streams for hours
            // (a realtime stream) outlives it.
            let handled: BoxedResponse = Box::pin(async move {
                let response = router.oneshot(request).await?;
                Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, in_flight)))
            });
            handled
        });
        let mut builder = http1::Builder::new();
        builder
            // The deadlines are ours; hyper's would also bound idle time (and needs a timer).
            .header_read_timeout(None)
            .max_headers(PARSER_MAX_HEADERS)
            .max_header_size(PARSER_MAX_HEAD_BYTES);
        let mut conn = pin!(builder.serve_connection(io, service));
        let mut stopping = false;
        loop {
            let deadline = watch.deadline();
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(err) = result {
                        tracing::trace!(%err, "connection ended with an error");
                    }
                    return;
                }
                changed = stop.changed(), if !stopping => {
                    // Only an error can come: the sender is dropped to signal shutdown.
                    let _ = changed;
                    if !watch.is_busy() {
                        // Nothing to finish: not even a request whose head is complete.
                        return;
                    }
                    // Finish the request in progress, then close.
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = watch.changed() => {}
                () = sleep_until(deadline) => {
                    if watch.deadline().is_some_and(|d| d <= tokio::time::Instant::now()) {
                        if watch.was_reading_head() {
                            tracing::debug!(client = %remote, "closed a connection: request head too slow");
                        } else {
                            tracing::trace!(client = %remote, "closed an idle connection");
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
