//! `/api/admin/functions`: every function with its source, and the call history.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::api::extract::Path;
use crate::api::extract::Query;
use crate::functions::{AdminFunctionInfo, CallFilter, CallStatus, FunctionCall, Trigger};
use crate::pagination::{Page, PageRequest};

/// Query parameters of the call history.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallListQuery {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500; larger values are clamped).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub per_page: Option<u32>,
    /// Only calls of this function.
    pub function_name: Option<String>,
    /// Only calls with this status: `running`, `succeeded` or `failed`.
    pub status: Option<CallStatus>,
    /// Only calls with this trigger: `manual` or `schedule`.
    pub trigger_type: Option<Trigger>,
    /// Only calls started at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only calls started before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// The path of one call.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallPath {
    /// The call's id.
    pub id: String,
}

async fn list_functions(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<axum::Json<Vec<AdminFunctionInfo>>> {
    Ok(axum::Json(state.function_catalog.admin_entries().to_vec()))
}

async fn list_calls(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<CallListQuery>,
) -> Result<axum::Json<Page<FunctionCall>>> {
    let page = PageRequest {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let filter = CallFilter {
        function_name: query.function_name,
        status: query.status,
        trigger_type: query.trigger_type,
        since: query.since,
        until: query.until,
    };
    Ok(axum::Json(state.calls.list(filter, page).await?))
}

async fn read_call(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<CallPath>,
) -> Result<axum::Json<FunctionCall>> {
    Ok(axum::Json(state.calls.get(&path.id).await?))
}

const TAG: &str = "admin: functions";

/// The admin function routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/admin/functions",
            get_with(list_functions, |op| {
                op.tag(TAG).summary("List functions").description(
                    "Every registered function with its schemas, auth level, source \
                     location and timeout.",
                )
            }),
        )
        .api_route(
            "/api/admin/functions/calls",
            get_with(list_calls, |op| {
                op.tag(TAG).summary("Call history").description(
                    "Newest first; filter by function, status, trigger and a time range.",
                )
            }),
        )
        .api_route(
            "/api/admin/functions/calls/{id}",
            get_with(read_call, |op| op.tag(TAG).summary("One call")),
        )
}
