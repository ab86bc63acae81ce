//! Request ids: a client may send its own `x-request-id` to correlate logs, but only a
//! short, printable one. Anything else is replaced by a fresh id before it reaches the
//! logs, a function's `Context` or the response, so a client cannot fill the logs with
//! kilobytes of header or smuggle control characters into them.

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header carrying the request id, set on every request and response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent request id that is kept. Long enough for a UUID, a W3C trace
/// id (32 hex digits) or a span id with a prefix.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Gives each request a time-ordered UUID.
#[derive(Clone, Copy)]
pub(super) struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// Whether a client-sent id may be used as it is: 1 to [`MAX_REQUEST_ID_LEN`] bytes of
/// printable ASCII, without spaces.
fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID_LEN && bytes.iter().all(u8::is_ascii_graphic)
}

/// Removes an unacceptable `x-request-id` (and any second one) from the request, so the
/// request-id layer that runs next generates a fresh id in its place.
pub(super) async fn drop_unacceptable(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let mut sent = headers.get_all(&REQUEST_ID_HEADER).iter();
    let keep = match (sent.next(), sent.next()) {
        (Some(first), None) => is_acceptable(first),
        // None: nothing to check. Several: which one the client meant is anyone's guess.
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(&REQUEST_ID_HEADER);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acceptable(text: &[u8]) -> bool {
        HeaderValue::from_bytes(text).is_ok_and(|v| is_acceptable(&v))
    }

    #[test]
    fn short_printable_ids_are_kept() {
        assert!(acceptable(b"my-trace-id-123"));
        assert!(acceptable(b"0af7651916cd43dd8448eb211c80319c"));
        assert!(acceptable(&[b'a'; MAX_REQUEST_ID_LEN]));
        assert!(acceptable(b"~!@#$%^&*()_+{}|:<>?"));
    }

    #[test]
    fn long_empty_spaced_or_non_ascii_ids_are_replaced() {
        assert!(!acceptable(&[b'a'; MAX_REQUEST_ID_LEN + 1]));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"two words"));
        assert!(!acceptable(b"tab\there"));
        assert!(!acceptable("caf\u{e9}".as_bytes()));
        assert!(!acceptable(b"obs\x80text"));
        assert!(!acceptable(b"del\x7f"));
    }
}
