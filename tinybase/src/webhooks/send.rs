//! One delivery attempt over HTTP: the signed POST and what came back.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::outbox::{Due, Outcome};
use super::store::Target;

/// The most of an answer read; the rest is dropped unread (only the status matters).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The most of a non-2xx answer kept in the delivery log.
const MAX_ERROR_CHARS: usize = 300;

/// The `v1` signature of a delivery: lower-case hex HMAC-SHA256 keyed with the webhook's
/// secret over `"<timestamp>.<body>"`, as sent in
/// `x-tinybase-signature: t=<timestamp>,v1=<signature>`.
///
/// ```
/// let sig = tinybase::webhooks::signature("a-secret-of-16-chars", 1_700_000_000, "{}");
/// assert_eq!(sig.len(), 64);
/// ```
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in mac.finalize().into_bytes() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The HTTP client deliveries use: no redirects (a delivery goes only to the configured
/// URL), `timeout` for the whole attempt.
pub(crate) fn client(timeout: Duration) -> oauth_http::Client {
    oauth_http::Client::builder()
        .redirect(oauth_http::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("TinyBase-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building fails only when the TLS backend cannot start; https deliveries then
        // fail with a logged error instead of the server failing to start.
        .unwrap_or_else(|err| {
            tracing::error!(%err, "cannot build the webhook HTTP client");
            oauth_http::Client::new()
        })
}

/// POSTs `due` to the webhook, signed now.
pub(crate) async fn attempt(client: &oauth_http::Client, target: &Target, due: &Due) -> Outcome {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signature(&target.secret, timestamp, &due.body);
    let started = Instant::now();
    let sent = client
        .post(&target.url)
        .header("content-type", "application/json")
        .header("x-tinybase-event", &due.event)
        .header("x-tinybase-delivery", &due.id)
        .header(
            "x-tinybase-signature",
            format!("t={timestamp},v1={signature}"),
        )
        .body(due.body.clone())
        .send()
        .await;
    let outcome = match sent {
        Err(err) => Outcome {
            status_code: None,
            error: Some(describe(&err)),
            duration_ms: 0,
            delivered: false,
        },
        Ok(mut response) => {
            let status = response.status();
            let mut excerpt = Vec::new();
            let mut read_error = None;
            while excerpt.len() < MAX_RESPONSE_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(err) => {
                        read_error = Some(describe(&err));
                        break;
                    }
                }
            }
            let delivered = status.is_success() && read_error.is_none();
            let error = if delivered {
                None
            } else if let Some(err) = read_error {
                Some(err)
            } else {
                let text: String = String::from_utf8_lossy(&excerpt)
                    .chars()
                    .take(MAX_ERROR_CHARS)
                    .collect();
                Some(format!("HTTP {}: {}", status.as_u16(), text.trim()))
            };
            Outcome {
                status_code: Some(status.as_u16()),
                error,
                duration_ms: 0,
                delivered,
            }
        }
    };
    Outcome {
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        ..outcome
    }
}

/// Says why a request failed, in words fit for the delivery log.
fn describe(err: &oauth_http::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "redirects are not followed"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    // The chain of sources holds the useful part (refused, DNS, TLS, …).
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' |
        //   openssl dgst -sha256 -hmac 'whsec-test-0123456789'
        assert_eq!(
            signature("whsec-test-0123456789", 1_700_000_000, r#"{"a":1}"#),
            "ba8ec7f38c4e076a99176a1bf98ae9f2f3f4e18412b46a5913ddcf5685932c6a"
        );
    }
}
