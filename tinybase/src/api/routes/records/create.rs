//! `POST /api/collections/{name}/records`

use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Json};
use crate::api::response::Created;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    Json(data): Json<Map<String, Value>>,
) -> Result<Created<Record>> {
    let record = state
        .collections
        .create_record(&caller, &path.name, data)
        .await?;
    Ok(Created(record))
}
