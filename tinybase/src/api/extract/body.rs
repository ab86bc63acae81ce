//! JSON request bodies whose failures use the error envelope instead of axum's plain-text
//! rejections: [`Json`] for typed bodies, [`JsonValue`] for any JSON value.

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::Operation;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_http::timeout::TimeoutError;

use crate::{Error, ErrorKind};

/// A JSON request body of type `T`.
///
/// Rejections: 415 without a JSON content type, 413 over the body limit, 408 when the body
/// arrives too slowly, 400 when the body is not JSON at all, 422 when it is JSON of the
/// wrong shape (with the field named).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

pub(super) fn not_json() -> Error {
    Error::new(
        ErrorKind::UnsupportedMediaType,
        "send the body as JSON with `Content-Type: application/json`",
    )
}

/// Reads the whole body within the configured limit; 413 beyond it, 408 when it does not
/// arrive in time (`server.body_timeout_seconds`).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorKind::PayloadTooLarge,
                "the request body is larger than the server accepts",
            )
        } else if timed_out(&rejection) {
            body_timeout()
        } else {
            Error::bad_request(format!("could not read the request body: {rejection}"))
        }
    })
}

/// Whether reading a body failed because it did not arrive within the body deadline
/// (anywhere in the chain of causes of `err`).
pub(crate) fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<TimeoutError>() {
            return true;
        }
        next = err.source();
    }
    false
}

/// The 408 for a body that did not arrive in time (`server.body_timeout_seconds`).
pub(crate) fn body_timeout() -> Error {
    Error::new(
        ErrorKind::RequestTimeout,
        "the request body did not arrive in time",
    )
}

/// Any JSON value as the body, or `null` when the body is empty — for function inputs,
/// which may be numbers, strings, arrays or nothing at all.
#[derive(Debug, Clone, Default)]
pub struct JsonValue(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let has_json_type = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Null));
        }
        if !has_json_type {
            return Err(not_json());
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|err| Error::bad_request(format!("the request body is not valid JSON: {err}")))
    }
}

impl OperationInput for JsonValue {}

/// Parses a JSON body: 400 for bytes that are not JSON, 422 for JSON of the wrong shape.
/// Every TinyBase request body is an object; anything else is refused before serde sees
/// it, because serde would otherwise read an array into a struct by position.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| Error::bad_request(format!("the request body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(Error::invalid_field("body", "must be a JSON object"));
    }
    crate::json::from_value(value)
}

pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: JsonSchema> OperationInput for Json<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::Json::<T>::operation_input(ctx, operation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        age: u8,
    }

    fn fields_of(err: &Error) -> Value {
        err.details().unwrap()["fields"].clone()
    }

    #[test]
    fn not_json_is_400() {
        let err = parse_json::<Body>(b"{not json").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest);
    }

    #[test]
    fn wrong_shape_is_422_naming_the_field() {
        let err = parse_json::<Body>(br#"{"email": "a@b.c", "age": "old"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert!(fields_of(&err).get("age").is_some(), "{err:?}");

        let err = parse_json::<Body>(br#"{"age": 3}"#).unwrap_err();
        assert!(fields_of(&err).get("email").is_some(), "{err:?}");

        let err = parse_json::<Body>(br#"{"email": "a", "age": 3, "extra": 1}"#).unwrap_err();
        assert!(fields_of(&err).get("extra").is_some(), "{err:?}");

        let err = parse_json::<Body>(b"[1, 2]").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert!(fields_of(&err).get("body").is_some(), "{err:?}");
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(
            CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
    }
}
