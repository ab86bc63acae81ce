//! Realtime streams served with a few hundred bytes of connection state instead of
//! hyper's 16 KiB.
//!
//! hyper keeps two buffers of 8 KiB for every HTTP/1.1 connection for as long as it is
//! open: one it reads requests into and one it writes response heads into, with no setting
//! to shrink or release them. A realtime stream is one long response that, once open,
//! neither reads nor writes much, so those buffers were nearly all of an idle stream's
//! memory (16.4 of 16.6 KiB measured per stream, 10,000 streams using 160 MiB).
//!
//! A connection whose first bytes are a complete, plain `GET /api/realtime` request head
//! is therefore served here instead: the head is parsed with `httparse` (the parser hyper
//! uses), the request goes through the same router as every other (every middleware, the
//! same handler), and the response is written here, with its body chunked, and the
//! connection closed after it (`connection: close`, so clients never send a second
//! request on it). Everything else goes to hyper untouched: the head is only *peeked* at
//! until this module has decided to take the connection, and it declines anything it does
//! not fully recognise (a head split over several packets, a request body, an upgrade,
//! HTTP/1.0, a head hyper would refuse).

use std::io;
use std::net::SocketAddr;
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use axum::http::{HeaderName, HeaderValue, Method, Response, Uri, Version};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::constants::{PARSER_MAX_HEAD_BYTES, PARSER_MAX_HEADERS};

/// The start of a stream's request line; a space or `?` must follow.
const STREAM_REQUEST: &[u8] = b"GET /api/realtime";

/// Bytes peeked first on every connection: enough to tell a stream's request line apart.
const PROBE_BYTES: usize = STREAM_REQUEST.len() + 1;

/// Waits for a connection's first bytes and, if they are a whole realtime stream request
/// head, takes it off the connection and returns it as a request. `None` leaves the
/// connection exactly as it was, for hyper: nothing of it has been read.
///
/// # Errors
/// I/O errors of the connection (the client went away).
pub(super) async fn take_stream_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let mut probe = [0; PROBE_BYTES];
    let seen = stream.peek(&mut probe).await?;
    if !is_stream_request_line(&probe[..seen]) {
        return Ok(None);
    }
    let mut head = vec![0; PARSER_MAX_HEAD_BYTES];
    let seen = stream.peek(&mut head).await?;
    let Some((request, head_len)) = parse_head(&head[..seen]) else {
        return Ok(None);
    };
    // The head is all there (peeked), so this returns at once.
    stream.read_exact(&mut head[..head_len]).await?;
    Ok(Some(request))
}

fn is_stream_request_line(start: &[u8]) -> bool {
    start.len() == PROBE_BYTES
        && start.starts_with(STREAM_REQUEST)
        && matches!(start[STREAM_REQUEST.len()], b' ' | b'?')
}

/// The request and the length of its head, if `bytes` start with a complete head this
/// module serves: HTTP/1.1, `GET`, no body, no upgrade, no `Expect`.
fn parse_head(bytes: &[u8]) -> Option<(Request, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; PARSER_MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).ok()? else {
        return None;
    };
    if parsed.method != Some("GET") || parsed.version != Some(1) {
        return None;
    }
    let uri: Uri = parsed.path?.parse().ok()?;
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let map = request.headers_mut();
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        map.append(name, value);
    }
    let has_body = map
        .get(CONTENT_LENGTH)
        .is_some_and(|length| length.as_bytes() != b"0")
        || map.contains_key(TRANSFER_ENCODING);
    if has_body || map.contains_key("upgrade") || map.contains_key("expect") {
        return None;
    }
    Some((request, head_len))
}

/// Serves `request` through `router` on `stream` and closes the connection when its
/// response has been sent or the client goes away.
pub(super) async fn serve(
    router: Router,
    remote: SocketAddr,
    mut stream: TcpStream,
    mut request: Request,
) {
    request.extensions_mut().insert(ConnectInfo(remote));
    // Boxed: the router's future is large and only lives until the response head is
    // ready, while this task lives as long as the stream.
    let response = match Box::pin(router.oneshot(request)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if let Err(err) = send(&mut stream, response).await {
        tracing::trace!(client = %remote, %err, "realtime stream ended");
    }
}

/// Writes the response: its head, then its body as it comes, until the body ends or the
/// client closes the connection.
async fn send(stream: &mut TcpStream, response: Response<Body>) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .or_else(|| body.size_hint().exact());
    let chunked = length.is_none();

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        // Framing and the connection's fate are decided here, not by the handler.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION {
            continue;
        }
        push_header(&mut head, name.as_str(), value.as_bytes());
    }
    if !parts.headers.contains_key(DATE) {
        let now = httpdate::fmt_http_date(SystemTime::now());
        push_header(&mut head, DATE.as_str(), now.as_bytes());
    }
    match length {
        Some(length) => push_header(
            &mut head,
            CONTENT_LENGTH.as_str(),
            length.to_string().as_bytes(),
        ),
        None => push_header(&mut head, TRANSFER_ENCODING.as_str(), b"chunked"),
    }
    push_header(&mut head, CONNECTION.as_str(), b"close");
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await?;
    drop(head);

    let (mut reader, mut writer) = stream.split();
    // Anything the client sends now is ignored (it was told the connection closes after
    // this response); reading is how a client that leaves is noticed between events.
    let mut ignored = [0; 64];
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            read = reader.read(&mut ignored) => match read? {
                0 => return Ok(()),
                _ => continue,
            },
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(io::Error::other)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: not sent on a stream
        };
        if data.is_empty() {
            continue;
        }
        if chunked {
            // One write per chunk: with Nagle off, separate writes are separate packets.
            let mut chunk = Vec::with_capacity(data.len() + 16);
            chunk.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            chunk.extend_from_slice(&data);
            chunk.extend_from_slice(b"\r\n");
            writer.write_all(&chunk).await?;
        } else {
            writer.write_all(&data).await?;
        }
    }
    if chunked {
        writer.write_all(b"0\r\n\r\n").await?;
    }
    writer.shutdown().await
}

fn push_header(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(head: &str) -> Option<(String, usize)> {
        let line_ok = is_stream_request_line(&head.as_bytes()[..PROBE_BYTES.min(head.len())]);
        let (request, len) = parse_head(head.as_bytes())?;
        line_ok.then(|| (request.uri().to_string(), len))
    }

    #[test]
    fn a_plain_stream_request_is_taken_with_its_query() {
        let head =
            "GET /api/realtime?client_id=abc HTTP/1.1\r\nhost: x\r\nlast-event-id: 7\r\n\r\n";
        assert_eq!(
            taken(head),
            Some(("/api/realtime?client_id=abc".to_owned(), head.len()))
        );
        let (request, _) = parse_head(head.as_bytes()).unwrap();
        assert_eq!(request.headers()["last-event-id"], "7");
        // Bytes after the head (a pipelined request) are not part of it.
        let more = format!("{head}GET / HTTP/1.1\r\n\r\n");
        assert_eq!(parse_head(more.as_bytes()).unwrap().1, head.len());
    }

    #[test]
    fn anything_else_is_left_to_hyper() {
        for head in [
            // Other paths and methods.
            "GET /api/realtimes HTTP/1.1\r\n\r\n",
            "GET /api/realtime/abc/subscriptions HTTP/1.1\r\n\r\n",
            "POST /api/realtime HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
            "HEAD /api/realtime HTTP/1.1\r\n\r\n",
            // Incomplete: the rest of the head has not arrived yet.
            "GET /api/realtime HTTP/1.1\r\nhost: x\r\n",
            "GET /api/realti",
            // Old HTTP, bodies, upgrades, expectations, heads hyper would refuse.
            "GET /api/realtime HTTP/1.0\r\n\r\n",
            "GET /api/realtime HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc",
            "GET /api/realtime HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            "GET /api/realtime HTTP/1.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
            "GET /api/realtime HTTP/1.1\r\nexpect: 100-continue\r\n\r\n",
            "GET /api/realtime HTTP/1.1\r\nbad header\r\n\r\n",
        ] {
            assert_eq!(taken(head), None, "{head:?}");
        }
        let many = format!(
            "GET /api/realtime HTTP/1.1\r\n{}\r\n",
            "x: y\r\n".repeat(PARSER_MAX_HEADERS + 1)
        );
        assert_eq!(taken(&many), None);
    }
}
