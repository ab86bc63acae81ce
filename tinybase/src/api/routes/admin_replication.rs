//! `GET /api/admin/replication`: whether Litestream runs and how far behind the replica is.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::replication::{self, ReplicationStatus};

/// Replication as this server sees it.
#[derive(Debug, Serialize, JsonSchema)]
struct ReplicationReport {
    /// Whether `[replication]` is set (`replication.url`).
    enabled: bool,
    /// Whether this server's Litestream runs right now.
    litestream_running: bool,
    /// How often Litestream was restarted since the server started.
    restarts: u64,
    /// How Litestream last stopped unexpectedly (an exit status), if it did.
    last_exit: Option<String>,
    /// The replica compared with the database; `null` when replication is off or the
    /// replica could not be read (see `error`).
    status: Option<ReplicationStatus>,
    /// Why the replica could not be read.
    error: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
) -> Result<axum::Json<ReplicationReport>> {
    let settings = &state.settings.replication;
    let supervision = &state.replication;
    let (status, error) = if settings.enabled() {
        match replication::status(settings, state.db.path()).await {
            Ok(status) => (Some(status), None),
            Err(err) => (None, Some(err.to_string())),
        }
    } else {
        (None, None)
    };
    Ok(axum::Json(ReplicationReport {
        enabled: settings.enabled(),
        litestream_running: supervision.running(),
        restarts: supervision.restarts(),
        last_exit: supervision.last_exit(),
        status,
        error,
    }))
}

/// The replication route.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/api/admin/replication",
        get_with(report, |op| {
            op.tag("admin: backup")
                .summary("Replication status")
                .description(
                    "Whether Litestream runs beside this server, and the replica compared \
                     with the database: the newest transaction on each side, the last sync \
                     and the lag (the age of the oldest write not in the replica yet). \
                     Reading the replica asks the storage for its list of files.",
                )
        }),
    )
}
