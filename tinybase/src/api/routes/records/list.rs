//! `GET /api/collections/{name}/records`

use axum::extract::{Path, State};

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Query};
use crate::collections::{Record, RecordQuery};
use crate::pagination::Page;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    Query(query): Query<RecordQuery>,
) -> Result<axum::Json<Page<Record>>> {
    let page = state
        .collections
        .list_records(&caller, &path.name, query)
        .await?;
    Ok(axum::Json(page))
}
