//! Protocol-level behaviour over a real HTTP server: bad bodies, unknown routes and methods,
//! request ids, security headers and CORS.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::{TestServer, assert_status_error, read};
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::json;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

/// Asserts the headers every response must carry; returns the request id.
#[track_caller]
fn assert_standard_headers(response: &Response) -> String {
    let headers = response.headers();
    let id = header(headers, "x-request-id").unwrap_or_else(|| {
        panic!(
            "no x-request-id on {} {}",
            response.status(),
            response.url()
        )
    });
    assert!(!id.is_empty());
    assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"));
    id.to_owned()
}

#[track_caller]
fn assert_json_content_type(response: &Response) {
    let content_type = header(response.headers(), "content-type").expect("content-type");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400() {
    let server = TestServer::start().await;
    let before = server.user_count().await;
    for body in [r#"{"email":"#, "", "not json", r#"{"email": "a@b.co",}"#] {
        let response = server
            .client
            .post(server.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_json_content_type(&response);
        let response = read(response).await;
        assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_of_the_wrong_shape_is_422() {
    let server = TestServer::start().await;
    let before = server.user_count().await;

    // An array that does not even line up with the fields positionally.
    let response = server
        .post("/api/auth/register", None, json!(["a@example.com"]))
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(error["details"]["fields"]["body"].is_string(), "{error}");

    for body in [json!("a string"), json!(42), json!(null), json!([])] {
        let response = server.post("/api/auth/register", None, body).await;
        assert_status_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }

    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "email": 42, "password": "password1" }),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(error["details"]["fields"]["email"].is_string(), "{error}");
    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_array_where_an_object_belongs_is_422_even_when_it_lines_up() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, user) = server.register("victim@example.com", "password1").await;
    let before = server.user_count().await;

    // Two strings line up with `{email, password}`.
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!(["array@example.com", "password1"]),
        )
        .await;
    let error = assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(error["details"]["fields"]["body"].is_string(), "{error}");
    assert_eq!(server.user_count().await, before);

    // `[email, password, is_admin]` lines up with the admin update.
    let id = user["id"].as_str().unwrap();
    let response = server
        .patch(
            &format!("/api/admin/users/{id}"),
            Some(&admin),
            json!([null, null, true]),
        )
        .await;
    assert_status_error(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let stored = tinybase::auth::Users::new(server.app.database().clone())
        .get(id)
        .await
        .unwrap();
    assert!(!stored.is_admin, "an array body promoted the user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_declared_json_is_415() {
    let server = TestServer::start().await;
    let before = server.user_count().await;
    let body = r#"{"email": "ct@example.com", "password": "password1"}"#;

    let response = server
        .client
        .post(server.url("/api/auth/register"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_standard_headers(&response);
    let response = read(response).await;
    assert_status_error(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    for content_type in ["text/plain", "application/x-www-form-urlencoded", "json"] {
        let response = server
            .client
            .post(server.url("/api/auth/register"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let response = read(response).await;
        assert_status_error(
            &response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    assert_eq!(server.user_count().await, before);

    // A JSON content type with parameters is fine.
    let response = server
        .client
        .post(server.url("/api/auth/register"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(server.user_count().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413() {
    let server = TestServer::start_with(|s| s.server.body_limit_bytes = 2048).await;
    let before = server.user_count().await;
    let body = json!({ "email": "big@example.com", "password": "p".repeat(10 * 1024) });
    let response = server
        .client
        .post(server.url("/api/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_standard_headers(&response);
    let response = read(response).await;
    assert_status_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_eq!(server.user_count().await, before);

    // A body under the limit on the same server is accepted.
    server.register("small@example.com", "password1").await;
    assert_eq!(server.user_count().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_json() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::GET, "/api/nope"),
        (Method::POST, "/api/nope"),
        (Method::GET, "/api/auth"),
        (Method::GET, "/api/admin/users/1/extra"),
    ] {
        let response = server
            .client
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_standard_headers(&response);
        assert_json_content_type(&response);
        let response = read(response).await;
        assert_status_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405_json() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::POST, "/api/health"),
        (Method::DELETE, "/api/health"),
        (Method::GET, "/api/auth/login"),
        (Method::PUT, "/api/admin/users"),
    ] {
        let response = server
            .client
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_standard_headers(&response);
        assert_json_content_type(&response);
        let response = read(response).await;
        assert_status_error(
            &response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok_with_the_version() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id_and_security_headers() {
    let server = TestServer::start().await;
    let mut ids = std::collections::BTreeSet::new();
    let requests = [
        (Method::GET, "/api/health"),
        (Method::GET, "/api/auth/me"),
        (Method::GET, "/api/nope"),
        (Method::POST, "/api/health"),
        (Method::POST, "/api/auth/login"),
        (Method::GET, "/openapi.json"),
        (Method::GET, "/docs"),
    ];
    for (method, path) in requests {
        let response = server
            .client
            .request(method, server.url(path))
            .send()
            .await
            .unwrap();
        let id = assert_standard_headers(&response);
        assert!(ids.insert(id.clone()), "request id {id} reused");
        // Generated ids are UUIDs.
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }

    // A client-sent id is echoed back, on success and on error alike.
    for path in ["/api/health", "/api/nope"] {
        let response = server
            .client
            .get(server.url(path))
            .header("x-request-id", "my-trace-id-123")
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(response.headers(), "x-request-id"),
            Some("my-trace-id-123"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/health"))
        .header("origin", "http://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        None
    );

    let response = server
        .client
        .request(Method::OPTIONS, server.url("/api/auth/login"))
        .header("origin", "http://example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_configured_origins() {
    let server = TestServer::start_with(|s| {
        s.cors.allow_origins = vec!["http://example.com".to_owned()];
    })
    .await;

    let response = server
        .client
        .get(server.url("/api/health"))
        .header("origin", "http://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("http://example.com")
    );
    let exposed = header(response.headers(), "access-control-expose-headers").unwrap_or("");
    assert!(
        exposed.to_ascii_lowercase().contains("x-request-id"),
        "{exposed:?}"
    );

    // An error response carries it too, so a browser can read the envelope.
    let response = server
        .client
        .get(server.url("/api/auth/me"))
        .header("origin", "http://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("http://example.com")
    );

    for origin in [
        "http://other.com",
        "http://example.com.evil.io",
        "https://example.com",
    ] {
        let response = server
            .client
            .get(server.url("/api/health"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(response.headers(), "access-control-allow-origin"),
            None,
            "{origin}"
        );
    }

    // A preflight from the allowed origin is answered.
    let response = server
        .client
        .request(Method::OPTIONS, server.url("/api/auth/login"))
        .header("origin", "http://example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some("http://example.com")
    );
    let methods = header(response.headers(), "access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("POST"), "{methods:?}");
    let headers = header(response.headers(), "access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers:?}"
    );
}

/// Asserts a raw response is the error envelope with `status` and `code`, sent as JSON
/// with the standard headers.
async fn assert_enveloped(response: Response, status: StatusCode, code: &str) {
    assert_standard_headers(&response);
    assert_json_content_type(&response);
    let response = read(response).await;
    assert_status_error(&response, status, code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_path_parameters_are_400_in_the_envelope() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (_, doc) = server.get("/openapi.json", None).await;
    let mut checked = 0;
    // Every documented path with parameters, each parameter replaced by bytes that are not
    // UTF-8, with every documented method, as an admin (so only the path can be wrong).
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        let bad: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "%FF" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            if method == Method::OPTIONS {
                continue;
            }
            let mut request = server.request(method.clone(), &bad, Some(&admin));
            if method != Method::GET && method != Method::DELETE {
                request = request.json(&json!({}));
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method} {bad}");
            assert_enveloped(response, StatusCode::BAD_REQUEST, "bad_request").await;
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} operations have path parameters"
    );

    // Routes that are not in the document: the function call route and the admin UI.
    for (method, path) in [
        (Method::POST, "/api/functions/%FF"),
        (Method::GET, "/admin/%FF"),
    ] {
        let response = server
            .request(method.clone(), path, Some(&admin))
            .send()
            .await
            .unwrap();
        assert_enveloped(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_layer_refusals_use_the_envelope() {
    let server = TestServer::start_with(|s| s.server.body_limit_bytes = 4096).await;
    let before = server.user_count().await;
    let register = server.url("/api/auth/register");

    // A JSON body declared as something else.
    let response = server
        .client
        .post(&register)
        .header("content-type", "text/plain")
        .body(r#"{"email": "a@example.com", "password": "password1"}"#)
        .send()
        .await
        .unwrap();
    assert_enveloped(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    // A body over the limit, announced by its length or streamed in chunks.
    let big = format!(
        r#"{{"email": "a@example.com", "password": "{}"}}"#,
        "p".repeat(8192)
    );
    let response = server
        .client
        .post(&register)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_enveloped(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let mut chunked = String::from(
        "POST /api/auth/register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
    );
    for chunk in big.as_bytes().chunks(1000) {
        chunked.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    chunked.push_str("0\r\n\r\n");
    let (head, body) = raw_exchange(&server, chunked.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");

    // A bad query parameter.
    let response = server
        .client
        .get(server.url("/api/collections?page=many"))
        .send()
        .await
        .unwrap();
    assert_enveloped(response, StatusCode::BAD_REQUEST, "bad_request").await;

    // A URI longer than the server accepts.
    let long = format!("/api/collections?filter={}", "a".repeat(20 * 1024));
    let response = server.client.get(server.url(&long)).send().await.unwrap();
    assert_enveloped(response, StatusCode::URI_TOO_LONG, "uri_too_long").await;

    // A header block larger than the server accepts, in one header or in several.
    let response = server
        .client
        .get(server.url("/api/health"))
        .header("x-big", "b".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_enveloped(
        response,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    )
    .await;
    let mut request = server.client.get(server.url("/api/health"));
    for i in 0..5 {
        request = request.header(format!("x-part-{i}"), "c".repeat(8 * 1024));
    }
    let response = request.send().await.unwrap();
    assert_enveloped(
        response,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    )
    .await;

    // Too many headers.
    let mut request = server.client.get(server.url("/api/health"));
    for i in 0..110 {
        request = request.header(format!("x-many-{i}"), "v");
    }
    let response = request.send().await.unwrap();
    assert_enveloped(
        response,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    )
    .await;

    // Just under the limits is fine.
    let response = server
        .client
        .get(server.url(&format!("/api/health?x={}", "a".repeat(15 * 1024))))
        .header("x-big", "b".repeat(30 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(server.user_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_beyond_the_parser_ceiling_gets_a_bare_431_and_a_closed_connection() {
    // Documented: the HTTP parser refuses such a head before TinyBase sees it, so there is
    // no envelope. What matters is that it is refused and the connection does not linger.
    let server = TestServer::start().await;
    let mut headers = String::new();
    for i in 0..200 {
        headers.push_str(&format!("x-h{i}: v\r\n"));
    }
    let request = format!("GET /api/health HTTP/1.1\r\nhost: x\r\n{headers}\r\n");
    let (head, body) = raw_exchange(&server, request.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    assert!(body.is_empty(), "{body}");

    let request = format!(
        "GET /api/health HTTP/1.1\r\nhost: x\r\nx-huge: {}\r\n\r\n",
        "h".repeat(80 * 1024)
    );
    let (head, _) = raw_exchange(&server, request.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");

    // The server answers the next client as usual.
    let (status, _) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Sends raw bytes on a new connection and reads the answer until the server closes it;
/// returns the head and the body.
async fn raw_exchange(server: &TestServer, request: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes")
    .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    (head.to_owned(), body.to_owned())
}
