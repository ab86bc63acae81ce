//! `GET /api/health`: is the server up, and which version is it.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;

use crate::api::AppState;

/// The health report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// The TinyBase version serving the request.
    pub version: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The health route.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/api/health",
        get_with(health, |op| {
            op.tag("health")
                .summary("Health check")
                .description("Answers `{status: \"ok\", version}` while the server is up.")
        }),
    )
}
