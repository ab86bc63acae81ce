//! `POST /api/collections/{name}/records`

use axum::extract::State;
use uuid::Uuid;

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Path, RecordInput};
use crate::api::response::Created;
use crate::api::uploads;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    input: RecordInput,
) -> Result<Created<Record>> {
    let record = match input {
        RecordInput::Json(body) => {
            let data = body.parse().await?;
            state
                .collections
                .create_record(&caller, &path.name, data.data)
                .await?
        }
        RecordInput::Multipart(form) => {
            // Refuse before the first byte of a file is stored.
            let loaded = match state
                .collections
                .check_upload(&caller, &path.name, None)
                .await
            {
                Ok(loaded) => loaded,
                Err(err) => {
                    form.discard().await;
                    return Err(err);
                }
            };
            let id = Uuid::now_v7().to_string();
            let received = uploads::receive(&state, &loaded, &id, form).await?;
            state
                .collections
                .create_record_with_files(
                    &caller,
                    &path.name,
                    Some(id),
                    received.data,
                    received.uploads,
                )
                .await?
        }
    };
    Ok(Created(record))
}
