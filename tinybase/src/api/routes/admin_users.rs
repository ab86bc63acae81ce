//! `/api/admin/users`: admins list, create, change and delete user accounts.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::api::extract::Path;
use crate::api::extract::{Json, Query};
use crate::api::response::Created;
use crate::auth::User;
use crate::auth::users::{self, NewUser, UserChanges};
use crate::pagination::{Page, PageRequest};

/// Query parameters of the user list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UserListQuery {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500).
    #[schemars(range(min = 1))]
    pub per_page: Option<u32>,
    /// Only users whose email contains this text (case-insensitive).
    pub search: Option<String>,
}

/// A user for an admin to create.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Email address.
    pub email: String,
    /// Password, at least 8 characters.
    pub password: String,
    /// Make the user an admin (default false).
    #[serde(default)]
    pub is_admin: bool,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New email address.
    pub email: Option<String>,
    /// New password; signs the user out of every session.
    pub password: Option<String>,
    /// Promote or demote. The last admin cannot be demoted.
    pub is_admin: Option<bool>,
}

/// The path of one user.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UserPath {
    /// The user's id.
    pub id: String,
}

async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<UserListQuery>,
) -> Result<axum::Json<Page<User>>> {
    let page = PageRequest {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    Ok(axum::Json(
        users::list(&state.db, page, query.search).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Json(body): Json<CreateUser>,
) -> Result<Created<User>> {
    let new = NewUser {
        email: body.email,
        password: body.password,
        is_admin: body.is_admin,
    };
    let user = users::create(&state.db, new).await?;
    tracing::info!(user_id = %user.id, by = %admin.id, "admin created a user");
    Ok(Created(user))
}

async fn read(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<UserPath>,
) -> Result<axum::Json<User>> {
    Ok(axum::Json(users::get(&state.db, &path.id).await?))
}

async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(path): Path<UserPath>,
    Json(body): Json<UpdateUser>,
) -> Result<axum::Json<User>> {
    let changes = UserChanges {
        email: body.email,
        password: body.password,
        is_admin: body.is_admin,
    };
    let user = users::update(&state.db, &path.id, changes).await?;
    tracing::info!(user_id = %user.id, by = %admin.id, "admin updated a user");
    Ok(axum::Json(user))
}

async fn delete(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(path): Path<UserPath>,
) -> Result<NoContent> {
    users::delete(&state.db, &path.id).await?;
    tracing::info!(user_id = %path.id, by = %admin.id, "admin deleted a user");
    Ok(NoContent)
}

/// The admin user-management routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/admin/users",
            get_with(list, |op| {
                op.tag("admin: users")
                    .summary("List users")
                    .description("Paginated, oldest first; `search` filters by email.")
            })
            .post_with(create, |op| {
                op.tag("admin: users")
                    .summary("Create a user")
                    .description("409 when the email is taken.")
            }),
        )
        .api_route(
            "/api/admin/users/{id}",
            get_with(read, |op| op.tag("admin: users").summary("Get a user"))
                .patch_with(update, |op| {
                    op.tag("admin: users").summary("Change a user").description(
                        "Changes email, password or admin rights. 409 when demoting the \
                         last admin or taking another user's email.",
                    )
                })
                .delete_with(delete, |op| {
                    op.tag("admin: users")
                        .summary("Delete a user")
                        .description("409 for the last admin.")
                }),
        )
}
