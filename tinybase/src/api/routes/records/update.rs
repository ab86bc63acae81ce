//! `PATCH /api/collections/{name}/records/{id}`

use axum::extract::State;

use super::RecordPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Path, RecordInput};
use crate::api::uploads;
use crate::collections::Record;

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordPath>,
    input: RecordInput,
) -> Result<axum::Json<Record>> {
    let record = match input {
        RecordInput::Json(body) => {
            let patch = body.parse().await?;
            state
                .collections
                .update_record(&caller, &path.name, &path.id, patch.data)
                .await?
        }
        RecordInput::Multipart(form) => {
            // Refuse before the first byte of a file is stored.
            let loaded = match state
                .collections
                .check_upload(&caller, &path.name, Some(&path.id))
                .await
            {
                Ok(loaded) => loaded,
                Err(err) => {
                    form.discard().await;
                    return Err(err);
                }
            };
            // check_upload proved the id a UUID; files are keyed by its canonical form.
            let id = uuid::Uuid::parse_str(&path.id)
                .map_or_else(|_| path.id.clone(), |id| id.hyphenated().to_string());
            let received = uploads::receive(&state, &loaded, &id, form).await?;
            state
                .collections
                .update_record_with_files(
                    &caller,
                    &path.name,
                    &path.id,
                    received.data,
                    received.uploads,
                )
                .await?
        }
    };
    Ok(axum::Json(record))
}
