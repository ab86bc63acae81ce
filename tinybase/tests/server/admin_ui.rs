//! The admin UI at `/admin/`: the embedded build, its headers, the history fallback and the
//! `admin.static_dir` override.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::TestServer;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.client.get(server.url(path)).send().await.unwrap()
}

/// The first `/admin/assets/…` URL that `index.html` loads.
fn first_asset(index: &str, ext: &str) -> String {
    let start = index
        .find("/admin/assets/")
        .expect("index.html names an asset");
    let rest = &index[start..];
    let end = rest.find('"').unwrap();
    let url = &rest[..end];
    if url.ends_with(ext) {
        return url.to_owned();
    }
    let pos = index
        .match_indices("/admin/assets/")
        .map(|(i, _)| &index[i..i + index[i..].find('"').unwrap()])
        .find(|u| u.ends_with(ext))
        .expect("an asset with this extension");
    pos.to_owned()
}

#[tokio::test]
async fn index_is_served_with_security_headers_and_no_cache() {
    let server = TestServer::start().await;
    let response = get(&server, "/admin/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    let csp = header(&response, CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        header(&response, "x-frame-options".parse().unwrap()),
        "DENY"
    );
    let body = response.text().await.unwrap();
    assert!(body.contains("<div id=\"app\">"), "{body}");
}

#[tokio::test]
async fn hashed_assets_are_cached_for_long_with_their_mime_type() {
    let server = TestServer::start().await;
    let index = get(&server, "/admin/").await.text().await.unwrap();
    for (ext, mime) in [(".js", "text/javascript"), (".css", "text/css")] {
        let url = first_asset(&index, ext);
        let response = get(&server, &url).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert!(header(&response, CONTENT_TYPE).starts_with(mime), "{url}");
        assert_eq!(
            header(&response, CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        // A repeat visit with the ETag costs no body.
        let etag = header(&response, reqwest::header::ETAG);
        let again = server
            .client
            .get(server.url(&url))
            .header(reqwest::header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
}

#[tokio::test]
async fn deep_links_get_the_app_and_missing_assets_get_404() {
    let server = TestServer::start().await;
    let index = get(&server, "/admin/").await.text().await.unwrap();
    let response = get(&server, "/admin/collections/posts").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert_eq!(response.text().await.unwrap(), index);

    let missing = get(&server, "/admin/assets/nope.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn bare_admin_redirects_to_the_app() {
    let server = TestServer::start().await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(server.url("/admin")).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(header(&response, LOCATION), "/admin/");
}

/// Sends `path` verbatim (no client-side normalisation of `..`) and returns the whole
/// response; empty if the server closed the connection without answering.
async fn raw_get(server: &TestServer, path: &str) -> String {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn static_dir_overrides_the_embedded_build_and_refuses_traversal() {
    let outer = tempfile::tempdir().unwrap();
    let ui = outer.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(ui.join("index.html"), "<p>custom admin</p>").unwrap();
    std::fs::write(ui.join("assets/app-1234.js"), "console.log(1)").unwrap();
    std::fs::write(outer.path().join("secret.txt"), "top secret").unwrap();
    let dir = ui.clone();
    let server = TestServer::start_with(move |s| s.admin.static_dir = Some(dir)).await;

    let response = get(&server, "/admin/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert_eq!(response.text().await.unwrap(), "<p>custom admin</p>");

    let deep = get(&server, "/admin/users").await;
    assert_eq!(deep.text().await.unwrap(), "<p>custom admin</p>");

    let asset = get(&server, "/admin/assets/app-1234.js").await;
    assert!(header(&asset, CONTENT_TYPE).starts_with("text/javascript"));
    assert_eq!(
        header(&asset, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );

    for path in [
        "/admin/../secret.txt",
        "/admin/%2e%2e/secret.txt",
        "/admin/..%2fsecret.txt",
        "/admin/assets/..%2F..%2Fsecret.txt",
    ] {
        // A proper answer, not a dropped connection (which a browser would retry).
        let response = raw_get(&server, path).await;
        let status = response.lines().next().unwrap_or_default();
        assert!(
            status.starts_with("HTTP/1.1 404") || status.starts_with("HTTP/1.1 400"),
            "{path} must be answered 404 or 400, got {status:?}"
        );
        assert!(!response.contains("top secret"), "{path} leaked the file");
    }
    // `..` with an encoded slash reaches the handler as one segment: refused there.
    let encoded = get(&server, "/admin/..%2fsecret.txt").await;
    assert_eq!(encoded.status(), StatusCode::NOT_FOUND);
    assert!(!encoded.text().await.unwrap().contains("top secret"));
}

/// The admin UI's API types are generated from `app/openapi.json`; this keeps that copy
/// equal to what a stock server serves, so an API change reaches the UI's type check.
/// Refresh it with `TINYBASE_UPDATE_OPENAPI=1 cargo test -p tinybase --test server admin_ui`,
/// then `cd app && npm run build`.
#[tokio::test]
async fn the_admin_ui_openapi_copy_matches_the_server() {
    let server = TestServer::start().await;
    let (status, mut live) = server.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let copy_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/openapi.json");
    if std::env::var_os("TINYBASE_UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&live).unwrap() + "\n";
        std::fs::write(&copy_path, text).unwrap();
    }
    // The tests are not part of the packaged crate, so the copy is always there to compare.
    let text = std::fs::read_to_string(&copy_path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; create it with `TINYBASE_UPDATE_OPENAPI=1 cargo test -p \
             tinybase --test server admin_ui`",
            copy_path.display()
        )
    });
    let mut copy: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The version changes with every release without changing the API.
    live["info"]["version"] = serde_json::Value::Null;
    copy["info"]["version"] = serde_json::Value::Null;
    assert!(
        live == copy,
        "app/openapi.json is out of date: run `TINYBASE_UPDATE_OPENAPI=1 cargo test -p tinybase \
         --test server admin_ui` and then `cd app && npm run build`, and commit the changes"
    );
}
