//! `/api/admin/users`: admins list, create, change and delete user accounts.

use aide::axum::ApiRouter;
use aide::axum::routing::{delete_with, get_with, post_with};
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::api::extract::Path;
use crate::api::extract::{Json, Query};
use crate::api::response::Created;
use crate::api::routes::oauth2::IdentityResponse;
use crate::auth::mail_flows;
use crate::auth::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::auth::users::{NewUser, UserChanges};
use crate::auth::{User, oauth2, totp};
use crate::mail::MailKind;
use crate::pagination::{Page, PageRequest};
use crate::text::{EMAIL_PATTERN, MAX_EMAIL_LEN};
use crate::{Error, Result};

/// Query parameters of the user list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UserListQuery {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500; larger values are clamped).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub per_page: Option<u32>,
    /// Only users whose email contains this text (case-insensitive).
    pub search: Option<String>,
}

/// A user for an admin to create.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Email address (case and surrounding spaces, tabs and line breaks are ignored).
    #[schemars(regex(pattern = EMAIL_PATTERN), length(max = MAX_EMAIL_LEN))]
    pub email: String,
    /// Password, 8 to 256 characters.
    #[schemars(length(min = MIN_PASSWORD_CHARS, max = MAX_PASSWORD_CHARS))]
    pub password: String,
    /// Make the user an admin (default false).
    #[serde(default)]
    pub is_admin: bool,
    /// Count the email as verified from the start (default false).
    #[serde(default)]
    pub email_verified: bool,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New email address.
    #[schemars(regex(pattern = EMAIL_PATTERN), length(max = MAX_EMAIL_LEN))]
    pub email: Option<String>,
    /// New password, 8 to 256 characters; signs the user out of every session.
    #[schemars(length(min = MIN_PASSWORD_CHARS, max = MAX_PASSWORD_CHARS))]
    pub password: Option<String>,
    /// Promote or demote. The last admin cannot be demoted.
    pub is_admin: Option<bool>,
    /// Mark the email verified or not.
    pub email_verified: Option<bool>,
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
    Ok(axum::Json(state.users.list(page, query.search).await?))
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
        email_verified: body.email_verified,
    };
    let user = state.users.create(new).await?;
    tracing::info!(user_id = %user.id, by = %admin.id, "admin created a user");
    Ok(Created(user))
}

async fn read(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<UserPath>,
) -> Result<axum::Json<User>> {
    Ok(axum::Json(state.users.get(&path.id).await?))
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
        email_verified: body.email_verified,
    };
    let user = state.users.update(&path.id, changes).await?;
    tracing::info!(user_id = %user.id, by = %admin.id, "admin updated a user");
    Ok(axum::Json(user))
}

async fn delete(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(path): Path<UserPath>,
) -> Result<NoContent> {
    state.users.delete(&path.id).await?;
    tracing::info!(user_id = %path.id, by = %admin.id, "admin deleted a user");
    Ok(NoContent)
}

async fn reset_mfa(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(path): Path<UserPath>,
) -> Result<axum::Json<User>> {
    let user = totp::reset(&state.db, &path.id).await?;
    tracing::info!(user_id = %user.id, by = %admin.id, "admin reset a user's TOTP");
    Ok(axum::Json(user))
}

async fn identities(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<UserPath>,
) -> Result<axum::Json<Vec<IdentityResponse>>> {
    // An unknown user is 404, not an empty list.
    let user = state.users.get(&path.id).await?;
    let linked = oauth2::identities(&state.db, &user.id).await?;
    Ok(axum::Json(linked.into_iter().map(Into::into).collect()))
}

async fn send_verification(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(path): Path<UserPath>,
) -> Result<NoContent> {
    let mailer = super::accounts::mailer(&state)?;
    let user = state.users.get(&path.id).await?;
    if user.email_verified {
        return Err(Error::conflict("this user's email is already verified")
            .with_code("email_already_verified"));
    }
    if let Some(mail) = mail_flows::request_verification(&state.db, &user.email).await? {
        mailer.send(MailKind::Verification, &mail.user_id, &mail.to, &mail.token);
        tracing::info!(user_id = %user.id, by = %admin.id, "admin sent a verification mail");
    }
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
                        "Changes email, password, admin rights or `email_verified`. 409 \
                         when demoting the last admin or taking another user's email.",
                    )
                })
                .delete_with(delete, |op| {
                    op.tag("admin: users")
                        .summary("Delete a user")
                        .description("409 for the last admin.")
                }),
        )
        .api_route(
            "/api/admin/users/{id}/verification",
            post_with(send_verification, |op| {
                op.tag("admin: users")
                    .summary("Send a verification mail")
                    .description(
                        "Mails the user a new verification link (voiding the previous one). \
                     409 `email_already_verified`; 503 `mail_not_configured` without a \
                     mail server.",
                    )
            }),
        )
        .api_route(
            "/api/admin/users/{id}/identities",
            get_with(identities, |op| {
                op.tag("admin: users")
                    .summary("A user's linked provider accounts")
                    .description(
                        "The OAuth2 / OpenID Connect provider accounts that sign in as this \
                         user, oldest first (the items of `GET \
                         /api/auth/oauth2/identities`). 404 for an unknown user.",
                    )
            }),
        )
        .api_route(
            "/api/admin/users/{id}/mfa",
            delete_with(reset_mfa, |op| {
                op.tag("admin: users")
                    .summary("Reset a user's TOTP")
                    .description(
                        "Turns the user's second factor off (for a lost authenticator); they \
                     sign in with the password alone and may set TOTP up again. Returns \
                     the user.",
                    )
            }),
        )
}
