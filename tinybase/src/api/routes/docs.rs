//! `GET /openapi.json` (the live OpenAPI document) and `GET /docs` (interactive reference).

use aide::axum::ApiRouter;
use aide::scalar::Scalar;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, VARY};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::api::docs::Audience;
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

async fn docs_page() -> Html<String> {
    // Scalar's script is bundled in the binary: the docs work without internet access.
    Html(Scalar::new(OPENAPI_PATH).with_title("TinyBase API").html())
}

/// The documentation routes (themselves not listed in the document).
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .route(OPENAPI_PATH, get(openapi_json))
        .route(DOCS_PATH, get(docs_page))
}
