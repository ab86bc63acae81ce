//! Middleware wrapped around every route: request ids, access logs, CORS, security
//! headers, panic containment, limits on the request head, the body limit and the body
//! deadline.

use std::any::Any;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, Request};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{DeadlineBody, RequestBodyDeadlineLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::request_head;
use super::request_id::{self, MakeUuidV7, REQUEST_ID_HEADER};
use crate::Error;
use crate::config::Settings;

/// Wraps `router` in TinyBase's middleware stack (outermost first).
pub(super) fn apply(router: Router, settings: &Settings) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id,
            )
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    let middleware = ServiceBuilder::new()
        .layer(axum::middleware::map_request(request_id::drop_unacceptable))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeUuidV7))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .option_layer(cors(&settings.cors.allow_origins))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_head::enforce_limits))
        .layer(DefaultBodyLimit::max(settings.server.body_limit_bytes));
    let router = router.layer(middleware);
    match settings.server.body_timeout_seconds {
        0 => router,
        seconds => with_body_deadline(router, Duration::from_secs(seconds)),
    }
}

/// Gives every request body `deadline` from the end of the request head to arrive in
/// full; reading it later fails, which the body extractors answer with 408. Against
/// clients trickling a body to hold a connection (and a handler) open.
fn with_body_deadline(router: Router, deadline: Duration) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(RequestBodyDeadlineLayer::new(deadline))
            .map_request(|request: Request<DeadlineBody<Body>>| request.map(Body::new)),
    )
}

/// CORS is off unless origins are configured; `*` allows any origin.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([REQUEST_ID_HEADER]),
    )
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = crate::error::panic_text(panic.as_ref());
    Error::internal(format!("handler panicked: {detail}")).into_response()
}
