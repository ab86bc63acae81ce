//! `POST /api/files/token`

use axum::extract::State;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::CurrentUser;
use crate::auth::file_tokens;

/// A file token.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileTokenOut {
    /// Pass it as `?token=` on file URLs.
    pub token: String,
    /// When it stops working (5 minutes after issue).
    pub expires_at: DateTime<Utc>,
}

pub(super) async fn handler(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<FileTokenOut>> {
    let issued = file_tokens::issue(&state.db, &user.id).await?;
    Ok(axum::Json(FileTokenOut {
        token: issued.token,
        expires_at: issued.expires_at,
    }))
}
