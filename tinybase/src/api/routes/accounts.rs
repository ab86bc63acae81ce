//! `/api/auth/{verification,password-reset,email-change}/*`: the account flows that go
//! through a mail.
//!
//! The request endpoints answer 204 whatever the email: for verification and password
//! reset the lookup, the token and the mail all happen after the answer, so neither the
//! status nor the time it takes says whether an account exists.

use aide::axum::ApiRouter;
use aide::axum::routing::post_with;
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::api::AppState;
use crate::api::extract::{ClientIp, CurrentUser, Json};
use crate::auth::User;
use crate::auth::mail_flows::{self, MailToken};
use crate::auth::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::auth::users::normalize_email;
use crate::mail::{MailKind, Mailer};
use crate::text::{EMAIL_PATTERN, MAX_EMAIL_LEN};
use crate::{Error, Result};

/// An email address to send a mail about.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    /// The account's email address (case and surrounding spaces are ignored).
    pub email: String,
}

/// A token from a mail.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenConfirm {
    /// The token from the mail (also in its link as `?token=`).
    pub token: String,
}

/// A token from a password-reset mail and the new password.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the mail.
    pub token: String,
    /// The new password, 8 to 256 characters.
    #[schemars(length(min = MIN_PASSWORD_CHARS, max = MAX_PASSWORD_CHARS))]
    pub new_password: String,
}

/// The address the signed-in user wants to move to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    /// The new email address; the confirmation mail goes there.
    #[schemars(regex(pattern = EMAIL_PATTERN), length(max = MAX_EMAIL_LEN))]
    pub new_email: String,
}

/// The mailer, or 503 `mail_not_configured`.
pub(crate) fn mailer(state: &AppState) -> Result<Mailer> {
    state.mailer.clone().ok_or_else(|| {
        Error::new(
            crate::ErrorKind::ServiceUnavailable,
            "this server sends no mail: set mail.smtp_host",
        )
        .with_code("mail_not_configured")
    })
}

/// Looks the email up and mails a token after the response has gone.
fn mail_later<F>(mailer: Mailer, kind: MailKind, make_token: F)
where
    F: Future<Output = Result<Option<MailToken>>> + Send + 'static,
{
    tokio::spawn(async move {
        match make_token.await {
            Ok(Some(mail)) => mailer.send(kind, &mail.user_id, &mail.to, &mail.token),
            Ok(None) => {}
            Err(err) => tracing::error!(%err, kind = kind.name(), "cannot prepare mail"),
        }
    });
}

async fn request_verification(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<EmailRequest>,
) -> Result<NoContent> {
    let mailer = mailer(&state)?;
    let email = normalize_email(&body.email);
    state.mail_limiter.check(ip, &email)?;
    let db = state.db.clone();
    mail_later(mailer, MailKind::Verification, async move {
        mail_flows::request_verification(&db, &email).await
    });
    Ok(NoContent)
}

async fn confirm_verification(
    State(state): State<AppState>,
    Json(body): Json<TokenConfirm>,
) -> Result<axum::Json<User>> {
    let user = mail_flows::confirm_verification(&state.db, body.token).await?;
    tracing::info!(user_id = %user.id, "email verified");
    Ok(axum::Json(user))
}

async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<EmailRequest>,
) -> Result<NoContent> {
    let mailer = mailer(&state)?;
    let email = normalize_email(&body.email);
    state.mail_limiter.check(ip, &email)?;
    let db = state.db.clone();
    mail_later(mailer, MailKind::PasswordReset, async move {
        mail_flows::request_password_reset(&db, &email).await
    });
    Ok(NoContent)
}

async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(body): Json<PasswordResetConfirm>,
) -> Result<NoContent> {
    let user = mail_flows::confirm_password_reset(&state.db, body.token, body.new_password).await?;
    tracing::info!(user_id = %user.id, "password reset; every session ended");
    Ok(NoContent)
}

async fn request_email_change(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Json(body): Json<EmailChangeRequest>,
) -> Result<NoContent> {
    let mailer = mailer(&state)?;
    let new_email = normalize_email(&body.new_email);
    state.mail_limiter.check(ip, &new_email)?;
    // Signed in, so checked now: a bad address is the user's own mistake to hear about.
    // An address another account holds gets no mail and the same 204.
    if let Some(mail) = mail_flows::request_email_change(&state.db, &user.id, &new_email).await? {
        mailer.send(MailKind::EmailChange, &mail.user_id, &mail.to, &mail.token);
    }
    Ok(NoContent)
}

async fn confirm_email_change(
    State(state): State<AppState>,
    Json(body): Json<TokenConfirm>,
) -> Result<axum::Json<User>> {
    let user = mail_flows::confirm_email_change(&state.db, body.token).await?;
    tracing::info!(user_id = %user.id, "email changed");
    Ok(axum::Json(user))
}

const NO_MAIL: &str = "503 `mail_not_configured` when the server has no `mail.smtp_host`; \
                       429 with Retry-After past `auth.mail_limit_per_email` (per address) \
                       or `auth.mail_limit_per_ip`.";

/// The mail-flow routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/auth/verification/request",
            post_with(request_verification, |op| {
                op.tag("auth")
                    .summary("Ask for a verification mail")
                    .description(&format!(
                        "Always 204, whether or not an account has this email: if one does \
                     and is not verified yet, it gets a mail with a link \
                     `{{mail.app_url}}/verify-email?token=…` and the token (valid 72 h; \
                     a newer one voids it). {NO_MAIL}"
                    ))
            }),
        )
        .api_route(
            "/api/auth/verification/confirm",
            post_with(confirm_verification, |op| {
                op.tag("auth").summary("Verify an email").description(
                    "Takes the token from a verification mail (once) and returns the user, \
                     now with `email_verified: true`. 400 `invalid_token` (unknown, used, \
                     replaced) or `token_expired`.",
                )
            }),
        )
        .api_route(
            "/api/auth/password-reset/request",
            post_with(request_password_reset, |op| {
                op.tag("auth")
                    .summary("Ask for a password-reset mail")
                    .description(&format!(
                        "Always 204, whether or not an account has this email: if one does, \
                     it gets a mail with a link `{{mail.app_url}}/reset-password?token=…` \
                     and the token (valid 1 h; a newer one voids it). {NO_MAIL}"
                    ))
            }),
        )
        .api_route(
            "/api/auth/password-reset/confirm",
            post_with(confirm_password_reset, |op| {
                op.tag("auth").summary("Reset a password").description(
                    "Sets the new password with the token from a password-reset mail \
                     (once). Every session of the user ends; sign in again. 400 \
                     `invalid_token` or `token_expired`, 422 for a password under 8 \
                     characters (the token stays usable).",
                )
            }),
        )
        .api_route(
            "/api/auth/email-change/request",
            post_with(request_email_change, |op| {
                op.tag("auth")
                    .summary("Ask to change the email")
                    .description(&format!(
                        "Mails a link `{{mail.app_url}}/confirm-email-change?token=…` to the \
                     new address (valid 1 h). 204 also when another account has that \
                     address, which then gets no mail. 422 for a bad address. {NO_MAIL}"
                    ))
            }),
        )
        .api_route(
            "/api/auth/email-change/confirm",
            post_with(confirm_email_change, |op| {
                op.tag("auth").summary("Change the email").description(
                    "Takes the token from an email-change mail (once) and moves the \
                     account to the new, verified address. 400 `invalid_token` or \
                     `token_expired`; 409 when another account took the address since.",
                )
            }),
        )
}
