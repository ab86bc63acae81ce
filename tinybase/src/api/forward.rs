//! A read replica forwards what it cannot answer itself to the primary
//! (`replication.primary_url`): every write (any method but GET, HEAD and OPTIONS), every
//! `/api/auth/*` request (sign-ins issue tokens) and every function call (a function may
//! write). Realtime stays local: its events come from the replica's own change log.
//!
//! The request goes on as it came (method, path, query, headers with the bearer token,
//! body streamed), less the hop-by-hop headers, plus `X-Forwarded-For`; the primary's
//! answer comes back the same way. A primary that cannot be reached is answered with a
//! 503 `primary_unavailable` at once (refused) or after [`CONNECT_TIMEOUT`] (no answer
//! to the connection), never a hang.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{Error, ErrorKind};

/// How long connecting to the primary may take before the request is answered 503.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the primary may take to start answering a forwarded request (function
/// calls included) before it is answered 503.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Marks answers that came from the primary, so operators (and tests) can tell.
pub const FORWARDED_HEADER: &str = "x-tinybase-forwarded";

/// The primary, and a client with pooled connections to it.
#[derive(Clone)]
pub struct Primary {
    base: Arc<str>,
    client: Client<HttpConnector, Body>,
}

impl Primary {
    /// A client for the primary at `base` (`http://host:port`, checked by the settings).
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Self {
            base: Arc::from(base.trim_end_matches('/')),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

/// Whether the replica sends this request to the primary.
pub fn is_forwarded(method: &Method, path: &str) -> bool {
    if path == "/api/realtime" || path.starts_with("/api/realtime/") {
        return false;
    }
    if path.starts_with("/api/auth/") || path.starts_with("/api/functions/") {
        return true;
    }
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: forwards what [`is_forwarded`] says, serves the rest here.
pub async fn forward_writes(
    State(primary): State<Primary>,
    request: Request,
    next: Next,
) -> Response {
    if !is_forwarded(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match forward(&primary, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn forward(primary: &Primary, request: Request) -> Result<Response, Error> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let uri: Uri = format!("{}{path}", primary.base)
        .parse()
        .map_err(|err| Error::bad_request(format!("cannot forward {path}: {err}")))?;
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let original_host = parts.headers.get(header::HOST).cloned();
    drop_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::HOST);
    if let Some(ip) = remote {
        append_forwarded_for(&mut parts.headers, &ip.to_string());
    }
    if let Some(host) = original_host {
        parts
            .headers
            .insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    let mut outgoing = axum::http::Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = parts.headers;
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, primary.client.request(outgoing))
        .await
        .map_err(|_| {
            unavailable(format!(
                "the primary did not answer within {} s",
                ANSWER_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|err| {
            tracing::warn!(%err, primary = %primary.base, "could not forward a request to the primary");
            unavailable(format!("the primary cannot be reached ({err})"))
        })?;
    let (mut parts, incoming) = answer.into_parts();
    drop_hop_by_hop(&mut parts.headers);
    parts.headers.insert(
        HeaderName::from_static(FORWARDED_HEADER),
        HeaderValue::from_static("primary"),
    );
    Ok(Response::from_parts(parts, Body::new(incoming)))
}

fn unavailable(detail: String) -> Error {
    Error::new(
        ErrorKind::ServiceUnavailable,
        format!(
            "this server is a read replica and sends writes, sign-ins and function calls to \
             the primary, but {detail}; reads still work here"
        ),
    )
    .with_code("primary_unavailable")
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), and those
/// the `Connection` header names.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// Adds the client's address to `X-Forwarded-For`, after any proxies before us.
fn append_forwarded_for(headers: &mut HeaderMap, ip: &str) {
    let name = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(before) if !before.trim().is_empty() => format!("{before}, {ip}"),
        _ => ip.to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_auth_and_function_calls_go_to_the_primary() {
        for (method, path) in [
            (Method::POST, "/api/collections/posts/records"),
            (Method::PATCH, "/api/collections/posts/records/1"),
            (Method::DELETE, "/api/collections/posts/records/1"),
            (Method::GET, "/api/auth/me"),
            (Method::POST, "/api/auth/login"),
            (Method::GET, "/api/auth/oauth2/github/callback"),
            (Method::POST, "/api/functions/publish"),
            (Method::POST, "/api/batch"),
        ] {
            assert!(is_forwarded(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn reads_and_realtime_stay_on_the_replica() {
        for (method, path) in [
            (Method::GET, "/api/collections/posts/records"),
            (Method::GET, "/api/collections/posts/records/1"),
            (Method::HEAD, "/api/health"),
            (Method::OPTIONS, "/api/collections/posts/records"),
            (Method::GET, "/api/functions"),
            (Method::GET, "/api/realtime"),
            (Method::POST, "/api/realtime/abc/subscriptions"),
        ] {
            assert!(!is_forwarded(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_dropped_and_the_client_is_appended() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-trace"),
        );
        headers.insert("x-trace", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        drop_hop_by_hop(&mut headers);
        append_forwarded_for(&mut headers, "10.0.0.7");
        assert!(headers.get(header::CONNECTION).is_none());
        assert!(headers.get("x-trace").is_none());
        assert!(headers.get(header::TRANSFER_ENCODING).is_none());
        assert_eq!(headers[header::AUTHORIZATION], "Bearer t");
        assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 10.0.0.7");
    }
}
