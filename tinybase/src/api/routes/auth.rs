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
use crate::auth::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::auth::users::{self, NewUser, UserChanges};
use crate::auth::{User, sessions, totp};
use crate::config::Registration;
use crate::hooks::{self, HookEvent};
use crate::text::{EMAIL_PATTERN, MAX_EMAIL_LEN};
use crate::{Error, Result};

/// Email and password, for logging in. Any strings: a wrong one is a failed login (401),
/// not a malformed request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email address (case and surrounding spaces are ignored).
    pub email: String,
    /// Password.
    pub password: String,
}

/// Email and password of a new account.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Email address (case and surrounding spaces, tabs and line breaks are ignored).
    #[schemars(regex(pattern = EMAIL_PATTERN), length(max = MAX_EMAIL_LEN))]
    pub email: String,
    /// Password, 8 to 256 characters.
    #[schemars(length(min = MIN_PASSWORD_CHARS, max = MAX_PASSWORD_CHARS))]
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

/// A new session for `user`.
pub(crate) async fn session_for(state: &AppState, user: User) -> Result<AuthResponse> {
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
    Json(body): Json<NewAccount>,
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
        email_verified: false,
    };
    let user = state.users.create(new).await?;
    tracing::info!(user_id = %user.id, "user registered");
    after_auth(&state, HookEvent::AfterRegister, &user);
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
    let user = state
        .users
        .verify_credentials(&body.email, body.password)
        .await?;
    // Only a right password learns either answer below, so they reveal no account.
    check_verified(&state, &user)?;
    if user.mfa_enabled {
        let mfa_token = totp::start_sign_in(&state.db, &user.id).await?;
        return Err(Error::unauthorized(
            "the password is right; now send a code from the authenticator app with \
             details.mfa_token to POST /api/auth/mfa/verify",
        )
        .with_code("mfa_required")
        .with_details(serde_json::json!({ "mfa_token": mfa_token })));
    }
    let session = session_for(&state, user).await?;
    after_auth(&state, HookEvent::AfterLogin, &session.user);
    Ok(axum::Json(session))
}

/// Starts the `after_register` / `after_login` hooks for `user`; the account write has
/// committed. They run in the background: the client is not kept waiting on them.
pub(crate) fn after_auth(state: &AppState, event: HookEvent, user: &User) {
    hooks::after::spawn_auth_hooks(
        state.collections.hooks(),
        event,
        user,
        &state.db,
        &state.collections,
    );
}

/// 403 `email_not_verified` when the server wants verified emails and `user` has none.
pub(crate) fn check_verified(state: &AppState, user: &User) -> Result<()> {
    if state.settings.auth.require_verified_email && !user.email_verified {
        return Err(Error::forbidden(
            "verify your email first: POST /api/auth/verification/request sends the mail",
        )
        .with_code("email_not_verified"));
    }
    Ok(())
}

/// A password change by the signed-in user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The new password, 8 to 256 characters.
    #[schemars(length(min = MIN_PASSWORD_CHARS, max = MAX_PASSWORD_CHARS))]
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
    state
        .users
        .verify_credentials(&user.email, body.current_password)
        .await
        .map_err(|_| Error::invalid_field("current_password", "is not the current password"))?;
    let changes = UserChanges {
        password: Some(body.new_password),
        ..UserChanges::default()
    };
    // Setting the password revokes every token of the user, this one included; the
    // response carries the one session that stays valid.
    let user = state.users.update(&user.id, changes).await?;
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
                     rate-limited per client IP and email (429 with Retry-After). With \
                     `auth.require_verified_email`, an unverified user gets 403 \
                     `email_not_verified`. A user with TOTP on gets 401 `mfa_required` \
                     with `details.mfa_token` for `POST /api/auth/mfa/verify`.",
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
