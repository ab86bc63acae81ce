//! `POST /api/collections/{name}/records`

use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::Json;
use crate::api::response::Created;
use crate::api::routes::collections::caller_of;
use crate::auth::CurrentUser;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Path(path): Path<RecordsPath>,
    Json(data): Json<Map<String, Value>>,
) -> Result<Created<Record>> {
    let caller = caller_of(user.as_ref());
    let record = state
        .collections
        .create_record(&caller, &path.name, data)
        .await?;
    Ok(Created(record))
}
