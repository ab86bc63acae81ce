//! `/api/admin/hooks`: every Rust hook with where it is defined and how it fared.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::hooks::{HookStatus, after};

async fn list_hooks(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<axum::Json<Vec<HookStatus>>> {
    let collections = &state.collections;
    Ok(axum::Json(
        after::statuses(&state.db, collections.hooks(), collections).await?,
    ))
}

/// The admin hook routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/api/admin/hooks",
        get_with(list_hooks, |op| {
            op.tag("admin: hooks").summary("List hooks").description(
                "Every `#[tinybase::hook]` in this build, sorted by name: its event, \
                 collection and source location, whether the collection exists, how far an \
                 `after_*` hook got through the change log (`seq`), how often it ran and \
                 failed, and its last error.",
            )
        }),
    )
}
