//! `POST /api/collections/{name}/records`

use axum::extract::State;

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::AnyCaller;
use crate::api::extract::Path;
use crate::api::extract::RecordBody;
use crate::api::response::Created;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    body: RecordBody,
) -> Result<Created<Record>> {
    let data = body.parse().await?;
    let record = state
        .collections
        .create_record(&caller, &path.name, data.data)
        .await?;
    Ok(Created(record))
}
