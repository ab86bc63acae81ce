//! `PATCH /api/collections/{name}/records/{id}`

use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Json};
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<axum::Json<Record>> {
    let record = state
        .collections
        .update_record(&caller, &path.name, &path.id, patch)
        .await?;
    Ok(axum::Json(record))
}
