//! `GET /openapi.json` (the live OpenAPI document) and `GET /docs` (interactive reference).

use aide::axum::ApiRouter;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::api::docs::Audience;
use crate::api::docs_page::DOCS_PAGE;
use crate::api::extract::AnyCaller;
use crate::constants::{DOCS_PATH, OPENAPI_PATH};

/// The document for the caller: the collections it may list or view (admins: all).
async fn openapi_json(State(state): State<AppState>, AnyCaller(caller): AnyCaller) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-cache"),
            // The document differs by caller.
            (VARY, "authorization"),
        ],
        state.docs.json(Audience::of(&caller)),
    )
        .into_response()
}

async fn docs_page() -> Response {
    // Scalar's script is bundled in the binary: the docs work without internet access.
    let mut response = Html(DOCS_PAGE.html.as_str()).into_response();
    match HeaderValue::from_str(&DOCS_PAGE.csp) {
        Ok(csp) => {
            response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
        }
        // The policy is ASCII built from base64 hashes; should that ever change, the page
        // must not go out without it.
        Err(err) => {
            return crate::Error::internal(format!("docs page policy: {err}")).into_response();
        }
    }
    response
}

/// The documentation routes (themselves not listed in the document).
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .route(OPENAPI_PATH, get(openapi_json))
        .route(DOCS_PATH, get(docs_page))
}
