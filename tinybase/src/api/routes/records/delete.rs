//! `DELETE /api/collections/{name}/records/{id}`

use axum::extract::State;
use axum::response::NoContent;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Path};

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
) -> Result<NoContent> {
    state
        .collections
        .delete_record(&caller, &path.name, &path.id)
        .await?;
    Ok(NoContent)
}
