//! Limits on the request line and headers, answered in the error envelope.
//!
//! The HTTP parser has hard limits of its own (set in `serve.rs`), but it answers a
//! request over them with a bare status and no body before any of TinyBase runs. These
//! limits are lower, so an oversized URI or header block normally gets a 414 or 431 in the
//! envelope, with a request id, instead; only a request head over the parser's ceiling
//! still gets the bare answer.

use axum::extract::Request;
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::constants::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use crate::{Error, ErrorKind};

/// Refuses a request whose URI or headers are over the limits; passes the rest on.
pub(super) async fn enforce_limits(request: Request, next: Next) -> Response {
    match check(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), Error> {
    // The request-target as sent: the path and query of an origin-form request.
    let uri_len = uri
        .path_and_query()
        .map_or(uri.path().len(), |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err(Error::new(
            ErrorKind::UriTooLong,
            format!("the URI is {uri_len} bytes long; the server accepts up to {MAX_URI_BYTES}"),
        ));
    }
    if headers.len() > MAX_HEADERS {
        return Err(Error::new(
            ErrorKind::HeadersTooLarge,
            format!(
                "the request has {} headers; the server accepts up to {MAX_HEADERS}",
                headers.len()
            ),
        ));
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(Error::new(
            ErrorKind::HeadersTooLarge,
            format!(
                "the request headers are {header_bytes} bytes; the server accepts up to \
                 {MAX_HEADER_BYTES}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn uri_of(len: usize) -> Uri {
        let path = format!("/{}", "a".repeat(len - 1));
        path.parse().unwrap()
    }

    #[test]
    fn uri_limit_counts_path_and_query() {
        assert!(check(&uri_of(MAX_URI_BYTES), &HeaderMap::new()).is_ok());
        let err = check(&uri_of(MAX_URI_BYTES + 1), &HeaderMap::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UriTooLong);
        let query: Uri = format!("/api?q={}", "b".repeat(MAX_URI_BYTES))
            .parse()
            .unwrap();
        assert_eq!(
            check(&query, &HeaderMap::new()).unwrap_err().kind(),
            ErrorKind::UriTooLong
        );
    }

    #[test]
    fn header_limits_count_headers_and_bytes() {
        let uri = Uri::from_static("/");
        let mut headers = HeaderMap::new();
        for i in 0..MAX_HEADERS {
            headers.append(
                format!("x-h{i}").parse::<axum::http::HeaderName>().unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        assert!(check(&uri, &headers).is_ok());
        headers.append("x-one-more", HeaderValue::from_static("v"));
        assert_eq!(
            check(&uri, &headers).unwrap_err().kind(),
            ErrorKind::HeadersTooLarge
        );

        let mut headers = HeaderMap::new();
        let value = "v".repeat(MAX_HEADER_BYTES - "x-big".len());
        headers.insert("x-big", HeaderValue::from_str(&value).unwrap());
        assert!(check(&uri, &headers).is_ok());
        headers.insert("x", HeaderValue::from_static("v"));
        assert_eq!(
            check(&uri, &headers).unwrap_err().kind(),
            ErrorKind::HeadersTooLarge
        );
    }
}
