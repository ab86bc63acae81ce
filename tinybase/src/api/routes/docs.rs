//! `GET /openapi.json` (the live OpenAPI document) and `GET /docs` (interactive reference).

use aide::axum::ApiRouter;
use aide::scalar::Scalar;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::constants::{DOCS_PATH, OPENAPI_PATH};

async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-cache"),
        ],
        state.docs.json(),
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
