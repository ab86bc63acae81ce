//! `DELETE /api/collections/{name}/records/{id}`

use axum::extract::{Path, State};
use axum::response::NoContent;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::routes::collections::caller_of;
use crate::auth::CurrentUser;

pub(super) async fn handler(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Path(path): Path<RecordPath>,
) -> Result<NoContent> {
    let caller = caller_of(user.as_ref());
    state
        .collections
        .delete_record(&caller, &path.name, &path.id)
        .await?;
    Ok(NoContent)
}
