//! `GET /api/collections/{name}/records/{id}`

use axum::extract::{Path, State};

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::routes::collections::caller_of;
use crate::auth::CurrentUser;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Path(path): Path<RecordPath>,
) -> Result<axum::Json<Record>> {
    let caller = caller_of(user.as_ref());
    let record = state
        .collections
        .get_record(&caller, &path.name, &path.id)
        .await?;
    Ok(axum::Json(record))
}
