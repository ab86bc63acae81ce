//! `GET /api/admin/backup`: download a consistent copy of the database.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::api::AppState;
use crate::auth::AdminUser;
use crate::db::format_timestamp;
use crate::{Error, Result};

async fn download(State(state): State<AppState>, AdminUser(admin): AdminUser) -> Result<Response> {
    let path = std::env::temp_dir().join(format!("tinybase-backup-{}.db", uuid::Uuid::now_v7()));
    state.db.backup_to(&path).await?;
    let bytes = tokio::fs::read(&path).await;
    // The copy served its purpose either way; a failure to delete it is only logged.
    if let Err(err) = tokio::fs::remove_file(&path).await {
        tracing::warn!(path = %path.display(), %err, "could not delete a backup copy");
    }
    let bytes = bytes.map_err(Error::from)?;
    tracing::info!(by = %admin.id, bytes = bytes.len(), "database backup downloaded");
    let name = format!(
        "tinybase-{}.db",
        format_timestamp(crate::db::now()).replace(':', "-")
    );
    Ok((
        [
            (CONTENT_TYPE, "application/vnd.sqlite3".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The backup route.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/api/admin/backup",
        get_with(download, |op| {
            op.tag("admin: backup")
                .summary("Download a backup")
                .description(
                    "A consistent copy of the whole SQLite database, taken while the server \
                 keeps serving. Restore it with the `restore` command.",
                )
        }),
    )
}
