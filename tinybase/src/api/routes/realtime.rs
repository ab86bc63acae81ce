//! `GET /api/realtime` (a server-sent-events stream) and
//! `POST /api/realtime/{client_id}/subscriptions`.

use std::convert::Infallible;
use std::time::Duration;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::extract::{AnyCaller, Json, MaybeBearer, Path, Query};
use crate::realtime::{Connection, Realtime, SubscriptionSpec};
use crate::{Error, Result};

/// Comments keep idle streams (and the proxies in front of them) open.
const KEEP_ALIVE: Duration = Duration::from_secs(20);

/// How a client resumes.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectQuery {
    /// The id of the client to resume: keeps its subscriptions.
    pub client_id: Option<String>,
    /// The last event id seen, when the `Last-Event-ID` header cannot be sent.
    pub last_event_id: Option<i64>,
}

/// A client's subscriptions: every one replaces all earlier ones.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscriptions {
    /// What to listen to.
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// The path of a client's subscriptions.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClientPath {
    /// The id from the stream's `connected` event.
    pub client_id: String,
}

/// Ends the client's stream on the hub's side when the HTTP side drops it.
struct Attached {
    hub: Realtime,
    connection: Connection,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.connection.events.close();
        self.hub.disconnected(&self.connection.client_id);
    }
}

async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ConnectQuery>,
) -> Result<EventStream> {
    let header_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| Error::bad_request("Last-Event-ID must be an event id (a number)"))
        })
        .transpose()?;
    let last_event_id = header_id.or(query.last_event_id);
    let resume = query.client_id.map(|id| (id, last_event_id));
    let hub = state.realtime.clone();
    let connection = hub.connect(resume).await?;
    let attached = Attached { hub, connection };
    Ok(EventStream(event_stream_response(attached)))
}

/// The most events written to the socket in one piece when a client has several waiting:
/// a subscriber that falls behind catches up in few writes instead of one per event.
const COALESCE_EVENTS: usize = 64;

/// The stream's body: each event as framed once by the hub, several at a time when they
/// are already waiting, and a comment every `KEEP_ALIVE` so proxies keep it open.
fn event_stream_response(attached: Attached) -> Response {
    // The first keep-alive one interval after connecting; a fixed beat, not reset by each
    // event, costs one timer per stream whatever the event rate.
    let beat = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    let frames = stream::unfold((attached, beat), |(mut attached, mut beat)| async move {
        let events = &mut attached.connection.events;
        let first = tokio::select! {
            event = events.recv() => event?,
            _ = beat.tick() => return Some((Bytes::from_static(b": keep-alive\n\n"), (attached, beat))),
        };
        let mut frame = first.to_frame();
        let mut more = Vec::new();
        while more.len() + 1 < COALESCE_EVENTS {
            match events.try_recv() {
                Some(event) => more.push(event.to_frame()),
                None => break,
            }
        }
        if !more.is_empty() {
            let mut joined =
                Vec::with_capacity(frame.len() + more.iter().map(Bytes::len).sum::<usize>());
            joined.extend_from_slice(&frame);
            for next in &more {
                joined.extend_from_slice(next);
            }
            frame = Bytes::from(joined);
        }
        Some((frame, (attached, beat)))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames.map(Ok::<_, Infallible>)),
    )
        .into_response()
}

async fn subscribe(
    State(state): State<AppState>,
    AnyCaller(_caller): AnyCaller,
    MaybeBearer(token): MaybeBearer,
    Path(path): Path<ClientPath>,
    Json(body): Json<Subscriptions>,
) -> Result<axum::Json<Subscriptions>> {
    state
        .realtime
        .subscribe(&path.client_id, token, &body.subscriptions)
        .await?;
    Ok(axum::Json(body))
}

/// The event as written to the stream.
const TAG: &str = "realtime";

fn stream_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.tag(TAG).summary("Open a realtime stream").description(
        "A `text/event-stream`. The first event is `connected` with `{\"client_id\"}`; \
             then `record` events (`id` = the change's sequence number, data \
             `{\"action\", \"collection\", \"record\"}`), `message` events from channels, \
             `reset` when missed events can no longer be replayed, and `error` when the \
             subscribing token stops being valid. Reconnect with `?client_id=` and a \
             `Last-Event-ID` header (or `?last_event_id=`) to resume.",
    )
}

/// A `text/event-stream` response, documented as such.
pub struct EventStream(Response);

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        self.0
    }
}

impl aide::OperationOutput for EventStream {
    type Inner = Self;

    fn operation_response(
        _ctx: &mut aide::generate::GenContext,
        _operation: &mut aide::openapi::Operation,
    ) -> Option<aide::openapi::Response> {
        let mut response = aide::openapi::Response {
            description: "A server-sent-events stream.".to_owned(),
            ..Default::default()
        };
        response.content.insert(
            "text/event-stream".to_owned(),
            aide::openapi::MediaType {
                schema: Some(aide::openapi::SchemaObject {
                    // What one event of the stream holds (its fields as written).
                    json_schema: schemars::json_schema!({
                        "type": "object",
                        "properties": {
                            "event": {
                                "type": "string",
                                "enum": ["connected", "record", "message", "reset", "error"]
                            },
                            "id": {"type": "string"},
                            "data": {"type": "string", "description": "A JSON document."},
                            "retry": {"type": "integer"}
                        }
                    }),
                    external_docs: None,
                    example: None,
                }),
                ..Default::default()
            },
        );
        Some(response)
    }

    fn inferred_responses(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Vec<(Option<aide::openapi::StatusCode>, aide::openapi::Response)> {
        Self::operation_response(ctx, operation)
            .map(|response| vec![(Some(aide::openapi::StatusCode::Code(200)), response)])
            .unwrap_or_default()
    }
}

/// The realtime routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/realtime", get_with(connect, stream_docs))
        .api_route(
            "/api/realtime/{client_id}/subscriptions",
            post_with(subscribe, |op| {
                op.tag(TAG)
                    .summary("Set a client's subscriptions")
                    .description(
                        "Replaces the client's subscriptions: `{\"collection\", \"record_id\", \
                     \"filter\"}` for record changes or `{\"channel\"}` for messages. The \
                     request's bearer token (or none) is the identity events are delivered \
                     as; each event is checked against the collection's `view_rule` (and \
                     `list_rule` for collection-wide subscriptions) when it is delivered. \
                     404 unknown client or collection, 400 bad filter, 422 too many.",
                    )
            }),
        )
}
