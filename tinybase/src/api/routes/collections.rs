//! `/api/collections` and `/api/collections/{name}`: defining collections.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::api::extract::Path;
use crate::api::extract::{AnyCaller, Json, Query};
use crate::api::response::Created;
use crate::auth::Caller;
use crate::collections::{
    Collection, CollectionChanges, NewCollection, RuleCheck, RuleCheckRequest,
};
use crate::pagination::{Page, PageRequest};

/// The path of one collection.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CollectionPath {
    /// The collection's name.
    pub name: String,
}

fn admin_caller(AdminUser(user): &AdminUser) -> Caller {
    Caller::from_user(user)
}

async fn list(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Query(page): Query<PageRequest>,
) -> Result<axum::Json<Page<Collection>>> {
    Ok(axum::Json(
        state.collections.list_collections(&caller, page)?,
    ))
}

async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(body): Json<NewCollection>,
) -> Result<Created<Collection>> {
    let collection = state
        .collections
        .create_collection(&admin_caller(&admin), body)
        .await?;
    Ok(Created(collection))
}

async fn read(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<CollectionPath>,
) -> Result<axum::Json<Collection>> {
    Ok(axum::Json(
        state.collections.get_collection(&caller, &path.name)?,
    ))
}

async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(path): Path<CollectionPath>,
    Json(body): Json<CollectionChanges>,
) -> Result<axum::Json<Collection>> {
    let collection = state
        .collections
        .update_collection(&admin_caller(&admin), &path.name, body)
        .await?;
    Ok(axum::Json(collection))
}

async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(path): Path<CollectionPath>,
) -> Result<NoContent> {
    state
        .collections
        .delete_collection(&admin_caller(&admin), &path.name)
        .await?;
    Ok(NoContent)
}

async fn check_rule(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(body): Json<RuleCheckRequest>,
) -> Result<axum::Json<RuleCheck>> {
    Ok(axum::Json(
        state.collections.check_rule(&admin_caller(&admin), body)?,
    ))
}

/// The collection routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/collections",
            get_with(list, |op| {
                op.tag("collections")
                    .summary("List collections")
                    .description(
                        "The collections whose list rule lets the caller list records \
                     (anonymous callers too), by name.",
                    )
            })
            .post_with(create, |op| {
                op.tag("collections")
                    .summary("Create a collection")
                    .description(
                        "Admins only. 409 when the name is taken; 422 with every schema \
                     problem listed in `details.fields`.",
                    )
            }),
        )
        // A literal path beside `{name}`: the router prefers it for this one path, and it
        // can never hide a collection, whose name (`^[a-z][a-z0-9_]{0,62}$`) has no hyphen.
        .api_route(
            "/api/collections/check-rule",
            post_with(check_rule, |op| {
                op.tag("collections")
                    .summary("Check an access rule without saving it")
                    .description(
                        "Admins only. Compiles `rule` as the collection's `kind` rule \
                     (`create` and `update` may use `@request.body.<field>`) against the \
                     fields of `schema` (unsaved fields count; with `name`, a relation to \
                     itself and `@collection.<name>` mean the collection as edited) or of \
                     the existing `collection`, exactly as saving would. 200 \
                     `{\"ok\": true}`, or 200 `{\"ok\": false, \"message\", \"position\"}` \
                     with the message a save would give in \
                     `details.fields[\"options.<kind>_rule\"]`. 422 for an unknown kind, \
                     both `schema` and `collection` (or neither, for an expression), a bad \
                     schema or a bad `name`; 404 for an unknown collection. Nothing is \
                     stored.",
                    )
            }),
        )
        .api_route(
            "/api/collections/{name}",
            get_with(read, |op| op.tag("collections").summary("Get a collection"))
                .patch_with(update, |op| {
                    op.tag("collections")
                        .summary("Change a collection")
                        .description(
                            "Admins only. A new schema applies to the next request and to the \
                         OpenAPI document at once; stored records are not rewritten.",
                        )
                })
                .delete_with(delete, |op| {
                    op.tag("collections")
                        .summary("Delete a collection")
                        .description("Admins only. Deletes its records too.")
                }),
        )
}
