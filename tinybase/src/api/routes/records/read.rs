//! `GET /api/collections/{name}/records/{id}`

use axum::extract::State;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::Path;
use crate::api::extract::{AnyCaller, Query};
use crate::api::response::JsonText;
use crate::collections::{Record, RecordViewQuery};

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
    Query(query): Query<RecordViewQuery>,
) -> Result<JsonText<Record>> {
    let record = state
        .collections
        .get_record_json(&caller, &path.name, &path.id, &query)
        .await?;
    Ok(JsonText::new(record))
}
