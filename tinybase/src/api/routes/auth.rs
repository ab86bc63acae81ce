//! `/api/auth/*`: register, log in, log out, and who am I.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::extract::State;
use axum::response::NoContent;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::extract::{BearerToken, CurrentUser};
use crate::api::extract::{ClientIp, Json};
use crate::api::response::Created;
use crate::auth::users::{self, NewUser, UserChanges};
use crate::auth::{User, sessions};
use crate::config::Registration;
use crate::{Error, Result};

/// Email and password, for registering and logging in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email address (case and surrounding spaces are ignored).
    pub email: String,
    /// Password, at least 8 characters.
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuthResponse {
    /// Bearer token for `Authorization: Bearer <token>`. Shown only here.
    pub token: String,
    /// When the token stops working (UTC).
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}

async fn session_for(state: &AppState, user: User) -> Result<AuthResponse> {
    let issued = sessions::issue(&state.db, &user.id, state.settings.auth.token_ttl_hours).await?;
    Ok(AuthResponse {
        token: issued.token,
        expires_at: issued.expires_at,
        user,
    })
}

async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Credentials>,
) -> Result<Created<AuthResponse>> {
    if state.settings.auth.registration == Registration::Closed {
        return Err(
            Error::forbidden("registration is closed; ask an admin for an account")
                .with_code("registration_closed"),
        );
    }
    // Counted before the email is looked at, so a taken email (409) costs an attempt too.
    state.registration_limiter.check(ip)?;
    let new = NewUser {
        email: body.email,
        password: body.password,
        is_admin: false,
    };
    let user = users::create(&state.db, new).await?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok(Created(session_for(&state, user).await?))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Credentials>,
) -> Result<axum::Json<AuthResponse>> {
    state
        .login_limiter
        .check(ip, &users::normalize_email(&body.email))?;
    let user = users::verify_credentials(&state.db, &body.email, body.password).await?;
    Ok(axum::Json(session_for(&state, user).await?))
}

/// A password change by the signed-in user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The new password, at least 8 characters.
    pub new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Json(body): Json<PasswordChange>,
) -> Result<axum::Json<AuthResponse>> {
    // Guessing the current password here is throttled like logging in.
    state.login_limiter.check(ip, &user.email)?;
    users::verify_credentials(&state.db, &user.email, body.current_password)
        .await
        .map_err(|_| Error::invalid_field("current_password", "is not the current password"))?;
    let changes = UserChanges {
        password: Some(body.new_password),
        ..UserChanges::default()
    };
    // Setting the password revokes every token of the user, this one included; the
    // response carries the one session that stays valid.
    let user = users::update(&state.db, &user.id, changes).await?;
    tracing::info!(user_id = %user.id, "password changed; other sessions revoked");
    Ok(axum::Json(session_for(&state, user).await?))
}

async fn logout(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<NoContent> {
    sessions::revoke(&state.db, &token).await?;
    Ok(NoContent)
}

async fn me(CurrentUser(user): CurrentUser) -> Result<axum::Json<User>> {
    Ok(axum::Json(user))
}

/// The auth routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/auth/register",
            post_with(register, |op| {
                op.tag("auth").summary("Register").description(
                    "Creates a user account and signs it in. 409 when the email is taken, \
                     422 for a bad email or a password under 8 characters, 403 \
                     `registration_closed` when the server does not take sign-ups. \
                     Attempts are rate-limited per client IP (429 with Retry-After).",
                )
            }),
        )
        .api_route(
            "/api/auth/login",
            post_with(login, |op| {
                op.tag("auth").summary("Log in").description(
                    "Exchanges email and password for a bearer token. Attempts are \
                     rate-limited per client IP and email (429 with Retry-After).",
                )
            }),
        )
        .api_route(
            "/api/auth/password",
            post_with(change_password, |op| {
                op.tag("auth").summary("Change password").description(
                    "Needs the current password. Every existing token of the user stops \
                     working; the response holds a new one.",
                )
            }),
        )
        .api_route(
            "/api/auth/logout",
            post_with(logout, |op| {
                op.tag("auth")
                    .summary("Log out")
                    .description("Revokes the token this request was sent with.")
            }),
        )
        .api_route(
            "/api/auth/me",
            get_with(me, |op| {
                op.tag("auth")
                    .summary("Current user")
                    .description("The signed-in user.")
            }),
        )
}
