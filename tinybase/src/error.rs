//! The crate-wide error type.
//!
//! Every layer (storage, auth, collections, functions) returns [`Error`]. It carries an
//! [`ErrorKind`] that says what went wrong in terms a client can act on, a message that is
//! safe to show, optional structured details, and — for internal failures — the underlying
//! cause, which is logged but never sent to a client. The HTTP layer maps kinds to statuses.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// A `Result` whose error defaults to TinyBase's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed: a body that is not JSON, a bad query parameter.
    BadRequest,
    /// No valid credentials were presented.
    Unauthorized,
    /// The caller is known but not allowed to do this.
    Forbidden,
    /// The thing asked for does not exist (or the caller may not know it exists).
    NotFound,
    /// The HTTP method is not supported on this path.
    MethodNotAllowed,
    /// The request conflicts with the current state, e.g. a duplicate unique value.
    Conflict,
    /// The client took too long to send the request body.
    RequestTimeout,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The request's URI (path and query) is longer than the server accepts.
    UriTooLong,
    /// The request's headers are larger, or more numerous, than the server accepts.
    HeadersTooLarge,
    /// The request body has a content type other than JSON.
    UnsupportedMediaType,
    /// Well-formed input that breaks the rules; details name the fields.
    Validation,
    /// Too many attempts; try again later.
    RateLimited {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// A function or operation ran out of time.
    Timeout,
    /// A feature this request needs is not set up on the server (e.g. no mail server).
    ServiceUnavailable,
    /// Anything else. The message shown to clients is generic.
    Internal,
}

impl ErrorKind {
    /// The stable, machine-readable code used in the error envelope.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout => "timeout",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }
}

/// The cause of an internal error, kept for logs only.
type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// TinyBase's error: a kind, a client-safe message, optional details and an internal cause.
pub struct Error {
    kind: ErrorKind,
    /// A more specific code than the kind's, e.g. `registration_closed` for a 403.
    code: Option<&'static str>,
    message: String,
    details: Option<Value>,
    cause: Option<Cause>,
}

impl Error {
    /// An error of `kind` with a message that is safe to show to clients.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: None,
            message: message.into(),
            details: None,
            cause: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401: missing or invalid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409: conflicts with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 422 with one message per offending field, reported together.
    pub fn validation(message: impl Into<String>, fields: FieldErrors) -> Self {
        Self::new(ErrorKind::Validation, message).with_details(fields.into_details())
    }

    /// 422 for a single field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::default();
        let message = message.into();
        fields.add(field, message.clone());
        Self::validation(message, fields)
    }

    /// 500 with a generic message; `cause` is logged, never shown.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            code: None,
            message: "internal server error".to_owned(),
            details: None,
            cause: Some(cause.into()),
        }
    }

    /// Attaches structured details shown to clients under `error.details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Replaces the kind's code in the envelope with a more specific one that clients can
    /// act on (`registration_closed` rather than `forbidden`); the status stays the kind's.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The machine-readable code for the envelope: the specific one if set, else the kind's.
    pub fn code(&self) -> &'static str {
        self.code.unwrap_or_else(|| self.kind.code())
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Structured details, if any.
    pub fn details(&self) -> Option<&Value> {
        self.details.as_ref()
    }

    /// The internal cause, for logs.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.cause.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind);
        if let Some(code) = self.code {
            s.field("code", &code);
        }
        s.field("message", &self.message);
        if let Some(details) = &self.details {
            s.field("details", details);
        }
        if let Some(cause) = &self.cause {
            s.field("cause", cause);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            // An internal error's message is a generic placeholder; the cause is the story.
            Some(cause) if self.kind == ErrorKind::Internal => write!(f, "{cause}"),
            Some(cause) => write!(f, "{}: {cause}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// Per-field validation messages, collected so a client sees every problem at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// Records a problem with `field`; the first message for a field wins.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `{"fields": {name: message}}` details object of an error.
    pub fn into_details(self) -> Value {
        let fields: serde_json::Map<String, Value> = self
            .0
            .into_iter()
            .map(|(name, msg)| (name, Value::String(msg)))
            .collect();
        serde_json::json!({ "fields": fields })
    }

    /// `Ok(())` when empty, else a 422 [`Error`] carrying every message.
    pub fn into_result(self, message: &str) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(message, self))
        }
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`), for logs and
/// call records.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a non-text panic payload")
}

macro_rules! internal_from {
    ($($ty:ty),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(err: $ty) -> Self {
                Error::internal(err)
            }
        })*
    };
}

internal_from!(
    rusqlite::Error,
    rusqlite::types::FromSqlError,
    r2d2::Error,
    tokio::task::JoinError,
    std::io::Error,
    serde_json::Error,
);
