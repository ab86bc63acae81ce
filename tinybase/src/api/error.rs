//! The error envelope: every error a client sees is
//! `{"error": {"code": "...", "message": "...", "details": {...}}}` with a fitting status.

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as ApiResponse, StatusCode as ApiStatus};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::{Error, ErrorKind};

/// The body of every error response.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The error itself.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `unauthorized`.
    pub code: String,
    /// Human-readable explanation, safe to show to end users.
    pub message: String,
    /// Structured details; for validation errors `fields` maps each bad field to a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The HTTP status for an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UriTooLong => StatusCode::URI_TOO_LONG,
        ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kind = self.kind();
        if kind == ErrorKind::Internal {
            // The cause may hold SQL or paths: log it, never send it.
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(
                code = self.code(),
                message = self.message(),
                "request rejected"
            );
        }
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.message().to_owned(),
                details: self.details().cloned(),
            },
        };
        let mut response = (status_of(kind), axum::Json(envelope)).into_response();
        if let ErrorKind::RateLimited { retry_after_secs } = kind {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if kind == ErrorKind::RequestTimeout {
            // The rest of the body may still be trickling in: do not wait for it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if kind == ErrorKind::Unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl OperationOutput for Error {
    type Inner = ErrorEnvelope;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<ApiResponse> {
        let mut response = axum::Json::<ErrorEnvelope>::operation_response(ctx, operation)?;
        response.description = "An error, in the standard envelope.".to_owned();
        Some(response)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        Self::operation_response(ctx, operation)
            .map(|response| vec![(None, response)])
            .unwrap_or_default()
    }
}
