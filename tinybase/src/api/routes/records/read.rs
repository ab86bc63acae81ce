//! `GET /api/collections/{name}/records/{id}`

use axum::extract::State;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::AnyCaller;
use crate::api::extract::Path;
use crate::api::response::JsonText;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
) -> Result<JsonText<Record>> {
    let record = state
        .collections
        .get_record_json(&caller, &path.name, &path.id)
        .await?;
    Ok(JsonText::new(record))
}
