//! JSON answers for requests no route takes, so clients never see an empty or HTML error.

use axum::http::{Method, Uri};

use crate::{Error, ErrorKind};

/// 404 for unknown paths.
pub(super) async fn not_found(method: Method, uri: Uri) -> Error {
    Error::not_found(format!("no route for {method} {}", uri.path()))
}

/// 405 for a known path with the wrong method.
pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> Error {
    Error::new(
        ErrorKind::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
