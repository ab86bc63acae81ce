//! `GET /api/admin/backup`: download a consistent copy of the database.

use aide::OperationOutput;
use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as ApiResponse, StatusCode as ApiStatus};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::db::format_timestamp;
use crate::{Error, Result};

/// The MIME type of a SQLite database file.
const SQLITE_MIME: &str = "application/vnd.sqlite3";

/// A database file sent as a download.
struct SqliteFile(Vec<u8>);

impl IntoResponse for SqliteFile {
    fn into_response(self) -> Response {
        let name = format!(
            "tinybase-{}.db",
            format_timestamp(crate::db::now()).replace(':', "-")
        );
        (
            [
                (CONTENT_TYPE, SQLITE_MIME.to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (CACHE_CONTROL, "no-store".to_owned()),
            ],
            self.0,
        )
            .into_response()
    }
}

impl OperationOutput for SqliteFile {
    type Inner = Self;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<ApiResponse> {
        // Bytes are documented as a binary string; only the media type differs.
        let mut response = <Vec<u8> as OperationOutput>::operation_response(ctx, operation)?;
        let media = response
            .content
            .swap_remove("application/octet-stream")
            .unwrap_or_default();
        response.content.clear();
        response.content.insert(SQLITE_MIME.to_owned(), media);
        response.description = "The database as one SQLite file.".to_owned();
        Some(response)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        Self::operation_response(ctx, operation)
            .map(|response| vec![(Some(ApiStatus::Code(200)), response)])
            .unwrap_or_default()
    }
}

async fn download(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<SqliteFile> {
    let path = std::env::temp_dir().join(format!("tinybase-backup-{}.db", uuid::Uuid::now_v7()));
    state.db.backup_to(&path).await?;
    let bytes = tokio::fs::read(&path).await;
    // The copy served its purpose either way; a failure to delete it is only logged.
    if let Err(err) = tokio::fs::remove_file(&path).await {
        tracing::warn!(path = %path.display(), %err, "could not delete a backup copy");
    }
    let bytes = bytes.map_err(Error::from)?;
    tracing::info!(by = %admin.id, bytes = bytes.len(), "database backup downloaded");
    Ok(SqliteFile(bytes))
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
