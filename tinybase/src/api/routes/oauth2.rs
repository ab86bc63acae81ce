//! `/api/auth/oauth2/*`: sign-in through OAuth2 / OpenID Connect providers, and the
//! provider accounts linked to the signed-in user.

use aide::axum::ApiRouter;
use aide::axum::routing::{delete_with, get_with, post_with};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::NoContent;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::extract::{CurrentUser, Json, Path, Query};
use crate::api::response::Found;
use crate::api::routes::auth::{AuthResponse, check_verified, session_for};
use crate::auth::oauth2::{self, redirect_allowed};
use crate::config::Registration;
use crate::{Error, Result};

/// A sign-in provider.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderResponse {
    /// Name used in URLs: `/api/auth/oauth2/{name}/start`.
    pub name: String,
    /// Name to show on a button.
    pub display_name: String,
}

/// The path of one provider.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProviderPath {
    /// The provider's `name`.
    pub provider: String,
}

/// Where to come back to after signing in.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartQuery {
    /// An app URL under one of `auth.oauth2_redirect_urls`; it gets `?code=…` for
    /// `POST /api/auth/oauth2/exchange`, or `?error=…` when the provider says no.
    pub redirect_to: String,
}

/// What the provider sends back.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallbackQuery {
    /// The `state` this server sent.
    pub state: Option<String>,
    /// The provider's authorization code.
    pub code: Option<String>,
    /// The provider's error code (e.g. `access_denied`).
    pub error: Option<String>,
    /// The provider's explanation of `error`.
    pub error_description: Option<String>,
    /// The issuer, sent by some providers.
    pub iss: Option<String>,
}

/// A one-time code from a finished sign-in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The `code` the browser came back to `redirect_to` with (valid 60 s, once).
    pub code: String,
}

/// A provider account linked to the signed-in user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IdentityResponse {
    /// The provider's name.
    pub provider: String,
    /// The email the provider gave when the account was linked.
    pub email: Option<String>,
    /// When it was linked (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<oauth2::LinkedIdentity> for IdentityResponse {
    fn from(linked: oauth2::LinkedIdentity) -> Self {
        Self {
            provider: linked.provider,
            email: linked.email,
            created_at: linked.created_at,
        }
    }
}

async fn providers(State(state): State<AppState>) -> axum::Json<Vec<ProviderResponse>> {
    axum::Json(
        state
            .oauth2
            .list()
            .into_iter()
            .map(|p| ProviderResponse {
                name: p.name,
                display_name: p.display_name,
            })
            .collect(),
    )
}

/// This server's callback URL for `provider`, as the browser reaches it. Behind a proxy
/// that ends TLS, `X-Forwarded-Proto: https` makes it `https://`.
fn callback_url(headers: &HeaderMap, provider: &str) -> Result<String> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic() && c != '/'))
        .ok_or_else(|| Error::bad_request("the request has no usable Host header"))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    Ok(format!(
        "{scheme}://{host}/api/auth/oauth2/{provider}/callback"
    ))
}

async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<ProviderPath>,
    Query(query): Query<StartQuery>,
) -> Result<Found> {
    if !redirect_allowed(
        &query.redirect_to,
        &state.settings.auth.oauth2_redirect_urls,
    ) {
        return Err(Error::invalid_field(
            "redirect_to",
            "is not under one of the server's auth.oauth2_redirect_urls",
        ));
    }
    let callback = callback_url(&headers, &path.provider)?;
    let url = state
        .oauth2
        .start(&state.db, &path.provider, &callback, &query.redirect_to)
        .await?;
    Ok(Found(url))
}

async fn callback(
    State(state): State<AppState>,
    Path(path): Path<ProviderPath>,
    Query(query): Query<CallbackQuery>,
) -> Result<Found> {
    let Some(returned_state) = query.state else {
        return Err(Error::unauthorized("the provider sent no state").with_code("oauth2_failed"));
    };
    if let Some(error) = query.error {
        let redirect_to = state
            .oauth2
            .abandon(&state.db, &path.provider, returned_state)
            .await?;
        tracing::info!(provider = %path.provider, %error, "OAuth2 sign-in refused by the provider");
        return Ok(Found(with_param(&redirect_to, "error", &error)));
    }
    let Some(code) = query.code else {
        return Err(Error::unauthorized("the provider sent no code").with_code("oauth2_failed"));
    };
    let registration_open = state.settings.auth.registration == Registration::Open;
    let finished = state
        .oauth2
        .finish(
            &state.db,
            &path.provider,
            returned_state,
            code,
            registration_open,
        )
        .await?;
    Ok(Found(with_param(
        &finished.redirect_to,
        "code",
        &finished.code,
    )))
}

/// `url` with `name=value` added to its query string.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let separator = if base.contains('?') { '&' } else { '?' };
    let value: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    match fragment {
        Some(fragment) => format!("{base}{separator}{name}={value}#{fragment}"),
        None => format!("{base}{separator}{name}={value}"),
    }
}

async fn exchange(
    State(state): State<AppState>,
    Json(body): Json<ExchangeRequest>,
) -> Result<axum::Json<AuthResponse>> {
    let user = oauth2::exchange(&state.db, body.code).await?;
    check_verified(&state, &user)?;
    tracing::info!(user_id = %user.id, "signed in through OAuth2");
    Ok(axum::Json(session_for(&state, user).await?))
}

async fn identities(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<Vec<IdentityResponse>>> {
    let linked = oauth2::identities(&state.db, &user.id).await?;
    Ok(axum::Json(linked.into_iter().map(Into::into).collect()))
}

async fn unlink(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(path): Path<ProviderPath>,
) -> Result<NoContent> {
    oauth2::unlink(&state.db, &user.id, &path.provider).await?;
    tracing::info!(user_id = %user.id, provider = %path.provider, "OAuth2 identity unlinked");
    Ok(NoContent)
}

/// The OAuth2 routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/auth/oauth2/providers",
            get_with(providers, |op| {
                op.tag("auth")
                    .summary("List sign-in providers")
                    .description("The `[[auth.oauth2]]` providers, in configuration order.")
            }),
        )
        .api_route(
            "/api/auth/oauth2/{provider}/start",
            get_with(start, |op| {
                op.tag("auth")
                    .summary("Start signing in with a provider")
                    .description(
                        "Open in the browser: 302 to the provider's sign-in page (state, PKCE \
                     S256 and nonce included). 422 when `redirect_to` is not under one of \
                     `auth.oauth2_redirect_urls`; 404 for an unknown provider; 503 \
                     `oauth2_provider_unavailable` when its discovery document cannot be \
                     read. Providers with explicit endpoints (GitHub) get no nonce.",
                    )
            }),
        )
        .api_route(
            "/api/auth/oauth2/{provider}/callback",
            get_with(callback, |op| {
                op.tag("auth").summary("Provider callback").description(
                    "Where the provider sends the browser back. Checks the state (once, \
                     10 minutes), exchanges the code with the PKCE verifier, checks the ID \
                     token (signature, issuer, audience, expiry, nonce) — or, for a \
                     provider with explicit endpoints, asks its userinfo endpoint (and \
                     email list) who signed in — signs the user in \
                     — creating the account, or linking it to an existing one only when \
                     both sides have verified the email — and answers 302 to \
                     `redirect_to?code=…`. 401 `oauth2_failed` when any check fails; 409 \
                     `email_in_use`; 403 `registration_closed` for a new user when \
                     sign-ups are closed.",
                )
            }),
        )
        .api_route(
            "/api/auth/oauth2/exchange",
            post_with(exchange, |op| {
                op.tag("auth")
                    .summary("Exchange a sign-in code for a session")
                    .description(
                        "Takes the `code` of a finished provider sign-in (once, within 60 s). \
                     401 `invalid_code`.",
                    )
            }),
        )
        .api_route(
            "/api/auth/oauth2/identities",
            get_with(identities, |op| {
                op.tag("auth")
                    .summary("Linked provider accounts")
                    .description("The provider accounts that sign in as the current user.")
            }),
        )
        .api_route(
            "/api/auth/oauth2/identities/{provider}",
            delete_with(unlink, |op| {
                op.tag("auth")
                    .summary("Unlink a provider account")
                    .description(
                        "That provider account no longer signs in as this user. 404 when none \
                     is linked.",
                    )
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_added_to_the_query_and_encoded() {
        assert_eq!(
            with_param("https://a.io/x", "code", "tb_1"),
            "https://a.io/x?code=tb_1"
        );
        assert_eq!(
            with_param("https://a.io/x?y=1#top", "error", "a b&c"),
            "https://a.io/x?y=1&error=a%20b%26c#top"
        );
    }
}
