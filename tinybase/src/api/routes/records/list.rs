//! `GET /api/collections/{name}/records`

use axum::extract::State;
use schemars::JsonSchema;

use super::RecordsPath;
use crate::Result;
use crate::api::AppState;
use crate::api::extract::Path;
use crate::api::extract::{AnyCaller, Query};
use crate::api::response::JsonText;
use crate::collections::{Record, RecordQuery};
use crate::constants::LIST_RESPONSE_MAX_BYTES;

// The page is written as JSON text straight from the stored records; this type only
// documents its shape (with `truncated`, which `Page` lacks).
/// One page of records.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(super) struct RecordPage {
    /// The records on this page.
    items: Vec<Record>,
    /// This page's number, from 1.
    page: u32,
    /// The page size used.
    per_page: u32,
    /// How many records match in all; null with `skip_total=true`.
    total_items: Option<u64>,
    /// How many pages there are at this page size; null with `skip_total=true`.
    total_pages: Option<u64>,
    /// Pass as `after` for the records after this page; null on the last page and in
    /// lists sorted by `@rank`.
    next_cursor: Option<String>,
    /// Present, and `true`, when the page stopped early because it reached the 16 MiB a
    /// page may hold: ask again with a smaller `per_page` for the rest.
    #[serde(default)]
    truncated: bool,
}

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<RecordsPath>,
    Query(query): Query<RecordQuery>,
) -> Result<JsonText<RecordPage>> {
    let page = state
        .collections
        .list_records_json(&caller, &path.name, query, LIST_RESPONSE_MAX_BYTES)
        .await?;
    Ok(JsonText::new(page))
}
