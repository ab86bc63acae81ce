//! `PATCH /api/collections/{name}/records/{id}`

use axum::extract::State;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::AnyCaller;
use crate::api::extract::Path;
use crate::api::extract::RecordBody;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
    body: RecordBody,
) -> Result<axum::Json<Record>> {
    let patch = body.parse().await?;
    let record = state
        .collections
        .update_record(&caller, &path.name, &path.id, patch.data)
        .await?;
    Ok(axum::Json(record))
}
