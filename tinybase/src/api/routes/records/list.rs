//! `GET /api/collections/{name}/records`

use axum::extract::{Path, State};

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::Query;
use crate::api::routes::collections::caller_of;
use crate::auth::CurrentUser;
use crate::collections::{Record, RecordQuery};
use crate::pagination::Page;

pub(super) async fn handler(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Path(path): Path<RecordsPath>,
    Query(query): Query<RecordQuery>,
) -> Result<axum::Json<Page<Record>>> {
    let caller = caller_of(user.as_ref());
    let page = state
        .collections
        .list_records(&caller, &path.name, query)
        .await?;
    Ok(axum::Json(page))
}
