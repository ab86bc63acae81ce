//! `/api/collections/{name}/records[/{id}]`: one handler per file, routes here.
//!
//! These generic routes are documented with untyped bodies; the OpenAPI document also
//! lists each collection's own record paths with its typed schemas.

mod create;
mod delete;
mod list;
mod read;
mod update;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::api::AppState;

/// The path of a collection's record list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecordsPath {
    /// The collection's name.
    pub name: String,
}

/// The path of one record.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecordPath {
    /// The collection's name.
    pub name: String,
    /// The record's id.
    pub id: String,
}

const TAG: &str = "records";

/// The record routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/collections/{name}/records",
            get_with(list::handler, |op| {
                op.tag(TAG).summary("List records").description(
                    "Paginated; `sort` like `-created_at,title`; `filter` like \
                     `rating >= 3 && (title ~ 'rust' || published = true)`. 400 for a bad \
                     filter or sort.",
                )
            })
            .post_with(create::handler, |op| {
                op.tag(TAG).summary("Create a record").description(
                    "The body is the record's data. Defaults are applied; 422 lists every \
                     bad field; 409 for a duplicate unique value.",
                )
            }),
        )
        .api_route(
            "/api/collections/{name}/records/{id}",
            get_with(read::handler, |op| op.tag(TAG).summary("Get a record"))
                .patch_with(update::handler, |op| {
                    op.tag(TAG).summary("Change a record").description(
                        "Merges the body into the record's data (null removes a field), then \
                         validates the whole result.",
                    )
                })
                .delete_with(delete::handler, |op| op.tag(TAG).summary("Delete a record")),
        )
}
