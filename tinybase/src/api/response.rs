//! Success responses beyond plain `200 + JSON`.

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as ApiResponse, StatusCode as ApiStatus};
use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::collections::JsonPieces;

/// `201 Created` with a JSON body.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
    }
}

impl<T: JsonSchema> OperationOutput for Created<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<ApiResponse> {
        axum::Json::<T>::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        Self::operation_response(ctx, operation)
            .map(|response| vec![(Some(ApiStatus::Code(201)), response)])
            .unwrap_or_default()
    }
}

/// `200 OK` with JSON text written ahead of time, documented as a `T`.
pub struct JsonText<T> {
    text: JsonPieces,
    documented_as: PhantomData<fn() -> T>,
}

impl<T> JsonText<T> {
    /// Wraps `text`, which must be the JSON of a `T`.
    pub fn new(text: impl Into<JsonPieces>) -> Self {
        Self {
            text: text.into(),
            documented_as: PhantomData,
        }
    }
}

impl<T> IntoResponse for JsonText<T> {
    fn into_response(self) -> Response {
        let content_type = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        (content_type, Body::new(PiecesBody::new(self.text))).into_response()
    }
}

/// A body sent from the pieces it was written in, each freed once it is handed to the
/// socket; its exact length is known, so it goes out with a `Content-Length`.
struct PiecesBody {
    pieces: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl PiecesBody {
    fn new(text: JsonPieces) -> Self {
        let remaining = text.len() as u64;
        Self {
            pieces: text.into_pieces().into_iter(),
            remaining,
        }
    }
}

impl http_body::Body for PiecesBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.pieces.next().map(|piece| {
            self.remaining -= piece.len() as u64;
            Ok(Frame::data(piece))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.len() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl<T: JsonSchema> OperationOutput for JsonText<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<ApiResponse> {
        axum::Json::<T>::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        axum::Json::<T>::inferred_responses(ctx, operation)
    }
}

/// `302 Found` to a URL: the browser steps of a sign-in.
#[derive(Debug)]
pub struct Found(pub String);

impl IntoResponse for Found {
    fn into_response(self) -> Response {
        match HeaderValue::from_str(&self.0) {
            Ok(location) => (
                StatusCode::FOUND,
                [
                    (axum::http::header::LOCATION, location),
                    (
                        axum::http::header::CACHE_CONTROL,
                        HeaderValue::from_static("no-store"),
                    ),
                ],
            )
                .into_response(),
            Err(_) => {
                crate::Error::internal("redirect URL is not a valid header value").into_response()
            }
        }
    }
}

impl OperationOutput for Found {
    type Inner = ();

    fn operation_response(
        _ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Option<ApiResponse> {
        let mut response = ApiResponse {
            description: "Redirect to the URL in `Location`.".to_owned(),
            ..ApiResponse::default()
        };
        response.headers.insert(
            "Location".to_owned(),
            aide::openapi::ReferenceOr::Item(aide::openapi::Header {
                description: Some("Where the browser goes next.".to_owned()),
                style: aide::openapi::HeaderStyle::Simple,
                required: true,
                deprecated: None,
                format: aide::openapi::ParameterSchemaOrContent::Schema(
                    aide::openapi::SchemaObject {
                        json_schema: schemars::json_schema!({"type": "string", "format": "uri"}),
                        external_docs: None,
                        example: None,
                    },
                ),
                example: None,
                examples: Default::default(),
                extensions: Default::default(),
            }),
        );
        Some(response)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        Self::operation_response(ctx, operation)
            .map(|response| vec![(Some(ApiStatus::Code(302)), response)])
            .unwrap_or_default()
    }
}
