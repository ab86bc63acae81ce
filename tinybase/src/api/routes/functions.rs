//! `GET /api/functions` and `POST /api/functions/{name}`: discovering and calling functions.
//!
//! The call route is generic; the OpenAPI document lists each function's own path with
//! its typed input and output (see `function_docs.rs`).

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::Result;
use crate::api::extract::{AnyCaller, JsonValue, Path};
use crate::api::{AppState, REQUEST_ID_HEADER};
use crate::functions::{Executor, FunctionInfo, Invocation, Trigger};

/// The response header naming the call record of a function call.
pub const CALL_ID_HEADER: HeaderName = HeaderName::from_static("x-function-call-id");

async fn list(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
) -> Result<axum::Json<Vec<FunctionInfo>>> {
    let visible = state
        .function_catalog
        .entries(|auth| Executor::check_access(auth, &caller).is_ok());
    Ok(axum::Json(visible))
}

async fn call(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonValue(input): JsonValue,
) -> Response {
    let invocation = Invocation {
        trigger: Trigger::Manual,
        trigger_id: None,
        caller,
        request_id: headers
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let result = state.functions.call(&name, input, invocation).await;
    let mut response = match result.output {
        Ok(output) => axum::Json(output).into_response(),
        Err(err) => err.into_response(),
    };
    if let Some(id) = result
        .call_id
        .and_then(|id| HeaderValue::from_str(&id).ok())
    {
        response.headers_mut().insert(CALL_ID_HEADER, id);
    }
    response
}

/// The function routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/functions",
            get_with(list, |op| {
                op.tag("functions").summary("List functions").description(
                    "The functions the caller may call, with their input and output \
                     JSON Schemas.",
                )
            }),
        )
        // Documented per function, with typed bodies, by `function_docs`.
        .route("/api/functions/{name}", post(call))
}
