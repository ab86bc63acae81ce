//! `GET /admin/…`: the admin single-page app. Its built files (from `app/`, committed in
//! `tinybase/admin-ui/`) are embedded in the binary; `admin.static_dir` serves a folder
//! instead. Unknown paths that are not assets fall back to `index.html` so the app's
//! history routing works on reload and deep links.

use std::borrow::Cow;
use std::path::{Component, Path as FsPath, PathBuf};

use aide::axum::ApiRouter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::Error;
use crate::api::AppState;
use crate::api::extract::Path;
use crate::constants::ADMIN_PATH;

/// The production build of the admin UI.
#[derive(RustEmbed)]
#[folder = "admin-ui/"]
struct Embedded;

const INDEX: &str = "index.html";
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   frame-ancestors 'none'";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One file ready to send.
struct File {
    bytes: Cow<'static, [u8]>,
    etag: Option<String>,
}

/// Where files come from: the embedded build, or a folder from the settings.
enum Source<'a> {
    Embedded,
    Dir(&'a FsPath),
}

impl Source<'_> {
    async fn get(&self, rel: &str) -> Option<File> {
        match self {
            Source::Embedded => Embedded::get(rel).map(|file| File {
                etag: Some(format!("\"{}\"", hex(&file.metadata.sha256_hash()))),
                bytes: file.data,
            }),
            Source::Dir(dir) => {
                let path = dir.join(rel);
                let meta = tokio::fs::metadata(&path).await.ok()?;
                if !meta.is_file() {
                    return None;
                }
                let bytes = tokio::fs::read(&path).await.ok()?;
                Some(File {
                    bytes: Cow::Owned(bytes),
                    etag: None,
                })
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request path as a safe relative path: only plain segments, no `..`, no roots.
fn safe_relative(path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Some(INDEX.to_owned());
    }
    if path.contains('\\') || path.contains('\0') {
        return None;
    }
    let parsed = PathBuf::from(path);
    if !parsed
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(path.to_owned())
}

/// A path that names a file (an asset) rather than an app route gets a 404 when missing.
fn is_asset_path(rel: &str) -> bool {
    rel.starts_with("assets/")
        || rel
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

async fn serve(state: &AppState, path: &str, headers: &HeaderMap) -> Response {
    let source = match state.settings.admin.static_dir.as_deref() {
        Some(dir) => Source::Dir(dir),
        None => Source::Embedded,
    };
    let Some(rel) = safe_relative(path) else {
        return Error::not_found(format!("no admin file at {path}")).into_response();
    };
    let (rel, file) = match source.get(&rel).await {
        Some(file) => (rel, file),
        None if is_asset_path(&rel) => {
            return Error::not_found(format!("no admin file at {rel}")).into_response();
        }
        None => match source.get(INDEX).await {
            Some(file) => (INDEX.to_owned(), file),
            None => {
                return Error::not_found("the admin UI is not built").into_response();
            }
        },
    };
    respond(&rel, file, headers)
}

fn respond(rel: &str, file: File, request_headers: &HeaderMap) -> Response {
    let mime = mime_guess::from_path(rel).first_or_octet_stream();
    let cache = if rel.starts_with("assets/") {
        IMMUTABLE
    } else {
        "no-cache"
    };
    let mut response = match &file.etag {
        Some(etag)
            if request_headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) =>
        {
            StatusCode::NOT_MODIFIED.into_response()
        }
        _ => file.bytes.into_owned().into_response(),
    };
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        out.insert(header::CONTENT_TYPE, value);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(etag) = file.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        out.insert(header::ETAG, etag);
    }
    response
}

async fn root_redirect() -> Redirect {
    Redirect::permanent(&format!("{ADMIN_PATH}/"))
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "", &headers).await
}

async fn file(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&state, &path, &headers).await
}

/// The admin UI routes (not part of the OpenAPI document).
pub(super) fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .route(ADMIN_PATH, get(root_redirect))
        .route(&format!("{ADMIN_PATH}/"), get(index))
        .route(&format!("{ADMIN_PATH}/{{*path}}"), get(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_refuse_traversal() {
        assert_eq!(safe_relative("").as_deref(), Some(INDEX));
        assert_eq!(safe_relative("assets/a.js").as_deref(), Some("assets/a.js"));
        assert_eq!(safe_relative("../secret"), None);
        assert_eq!(safe_relative("a/../../secret"), None);
        assert_eq!(safe_relative("..\\secret"), None);
    }

    #[test]
    fn assets_are_told_from_routes() {
        assert!(is_asset_path("assets/nope.js"));
        assert!(is_asset_path("favicon.ico"));
        assert!(!is_asset_path("collections/posts"));
    }
}
