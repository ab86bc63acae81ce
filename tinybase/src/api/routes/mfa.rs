//! `/api/auth/mfa/*`: TOTP set-up and removal for the signed-in user, and the second step of a
//! sign-in. Admins reset a user's TOTP under `/api/admin/users/{id}/mfa`.

use aide::axum::ApiRouter;
use aide::axum::routing::post_with;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::api::AppState;
use crate::api::extract::{ClientIp, CurrentUser, Json};
use crate::api::routes::auth::{AuthResponse, after_auth, session_for};
use crate::auth::{User, token, totp};
use crate::hooks::HookEvent;

/// A new TOTP secret, waiting for its first code.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TotpSetupResponse {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…` URL holding the secret, for a QR code.
    pub otpauth_url: String,
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The 6-digit code shown now.
    pub code: String,
}

/// The second step of a sign-in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerify {
    /// `details.mfa_token` of the login's 401 `mfa_required` answer.
    pub mfa_token: String,
    /// The 6-digit code shown now, or one of the recovery codes.
    pub code: String,
}

async fn setup(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<TotpSetupResponse>> {
    let issuer = state.settings.mail.app_name.clone();
    let setup = totp::setup(&state.db, &user, &issuer).await?;
    Ok(axum::Json(TotpSetupResponse {
        secret: setup.secret,
        otpauth_url: setup.otpauth_url,
    }))
}

async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Json(body): Json<TotpCode>,
) -> Result<axum::Json<User>> {
    state.login_limiter.check(ip, &user.email)?;
    let user = totp::confirm(&state.db, &user.id, body.code).await?;
    tracing::info!(user_id = %user.id, "TOTP enabled");
    Ok(axum::Json(user))
}

async fn disable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Json(body): Json<TotpCode>,
) -> Result<axum::Json<User>> {
    // A code is short, so guesses are throttled like passwords.
    state.login_limiter.check(ip, &user.email)?;
    let user = totp::disable(&state.db, &user.id, body.code).await?;
    tracing::info!(user_id = %user.id, "TOTP turned off by the user");
    Ok(axum::Json(user))
}

/// Fresh recovery codes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each usable once instead of a TOTP code. Shown only here.
    pub codes: Vec<String>,
}

async fn recovery_codes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<RecoveryCodes>> {
    let codes = totp::recovery_codes(&state.db, &user.id).await?;
    tracing::info!(user_id = %user.id, "new recovery codes");
    Ok(axum::Json(RecoveryCodes { codes }))
}

async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<MfaVerify>,
) -> Result<axum::Json<AuthResponse>> {
    // Codes are short: guesses are throttled per IP and per sign-in, and a sign-in takes
    // only a few wrong codes before its token stops working.
    state
        .login_limiter
        .check(ip, &token::hash(body.mfa_token.trim()))?;
    let user = totp::finish_sign_in(&state.db, body.mfa_token, body.code).await?;
    let session = session_for(&state, user).await?;
    after_auth(&state, HookEvent::AfterLogin, &session.user);
    Ok(axum::Json(session))
}

/// The MFA routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/auth/mfa/totp/setup",
            post_with(setup, |op| {
                op.tag("auth").summary("Start TOTP set-up").description(
                    "A new secret for an authenticator app (as text and as an `otpauth://` \
                     URL for a QR code). It takes effect once `POST \
                     /api/auth/mfa/totp/confirm` sees a code from it. 409 \
                     `mfa_already_enabled` when TOTP is on.",
                )
            }),
        )
        .api_route(
            "/api/auth/mfa/totp/confirm",
            post_with(confirm, |op| {
                op.tag("auth").summary("Turn TOTP on").description(
                    "Checks a code from the new secret and turns TOTP on: from now on \
                     login answers 401 `mfa_required`. 422 for a wrong code, 409 \
                     `mfa_not_set_up` before set-up.",
                )
            }),
        )
        .api_route(
            "/api/auth/mfa/totp/disable",
            post_with(disable, |op| {
                op.tag("auth").summary("Turn TOTP off").description(
                    "Turns the signed-in user's TOTP off, proven with a current code or \
                     an unused recovery code (a session alone is not enough). Recovery \
                     codes and sign-ins waiting for a code end. 422 on `code` for a \
                     wrong or used code, 409 `mfa_not_enabled` without TOTP.",
                )
            }),
        )
        .api_route(
            "/api/auth/mfa/recovery-codes",
            post_with(recovery_codes, |op| {
                op.tag("auth").summary("Make recovery codes").description(
                    "Ten new one-time codes (replacing earlier ones) that sign in in \
                     place of a TOTP code when the authenticator is lost. Shown once; \
                     only hashes are kept. 409 `mfa_not_enabled` without TOTP.",
                )
            }),
        )
        .api_route(
            "/api/auth/mfa/verify",
            post_with(verify, |op| {
                op.tag("auth")
                    .summary("Finish a sign-in with a code")
                    .description(
                        "Exchanges the `mfa_token` of a login's 401 `mfa_required` answer \
                     (valid 10 minutes) and a current TOTP code (or a recovery code) for \
                     a session. A code works once. 401 `invalid_mfa_token` (unknown, used, expired, or too \
                     many wrong codes) or `invalid_mfa_code`.",
                    )
            }),
        )
}
