//! `GET /api/collections/{name}/records`

use axum::extract::State;

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::Path;
use crate::api::extract::{AnyCaller, Query};
use crate::api::response::JsonText;
use crate::collections::{Record, RecordQuery};
use crate::constants::LIST_RESPONSE_MAX_BYTES;
use crate::pagination::Page;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    Query(query): Query<RecordQuery>,
) -> Result<JsonText<Page<Record>>> {
    let page = state
        .collections
        .list_records_json(&caller, &path.name, query, LIST_RESPONSE_MAX_BYTES)
        .await?;
    Ok(JsonText::new(page))
}
