//! Sign-in through OAuth2 / OpenID Connect providers (`[[auth.oauth2]]`): the
//! authorization-code flow with state, PKCE and nonce, and ID-token checks (signature,
//! issuer, audience, expiry, nonce) by the `openidconnect` crate. Providers with explicit
//! endpoints instead of an issuer (GitHub) are plain OAuth2: no nonce and no ID token; the
//! user comes from their userinfo endpoint (submodule `plain`).
//!
//! 1. [`Providers::start`] stores a one-time `state` holding the PKCE verifier, the nonce
//!    and where to send the browser back, and returns the provider's authorization URL.
//! 2. [`Providers::finish`] takes the `state` back (once), exchanges the provider's code,
//!    checks the ID token, signs the user in or creates them (linking to an existing
//!    account only by an email both sides have verified), and returns a one-time
//!    exchange code for the app.
//! 3. [`exchange`] turns that code (once, within 60 s) into the user to start a session for.
//!
//! The HTTP client never follows redirects (a provider answer cannot send it elsewhere).

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use tokio::sync::Mutex;

use super::one_time::{self, Kind, Refusal};
use super::password::hash_password;
use super::token::random_hex;
use super::users::{self, User, find_by_email_in, normalize_email};
use crate::config::OAuth2Provider;
use crate::db::{Database, format_timestamp, now};
use crate::{Error, Result};

mod plain;

/// How long discovered provider metadata (endpoints, signing keys) is reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Largest provider response read.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long one request to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// The configured providers. Cheap to clone.
#[derive(Clone)]
pub struct Providers {
    providers: Arc<Vec<Arc<Provider>>>,
    http: oauth_http::Client,
}

struct Provider {
    config: OAuth2Provider,
    /// Discovered on first use (a provider that is down at start-up must not stop the
    /// server) and refreshed after [`METADATA_TTL`], so rotated signing keys are seen.
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// A provider as clients see it.
#[derive(Debug, Clone)]
pub struct ProviderInfo {
    /// Name used in URLs.
    pub name: String,
    /// Name to show.
    pub display_name: String,
}

/// Where a finished sign-in sends the browser.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The app URL given to `start`.
    pub redirect_to: String,
    /// One-time code for `POST /api/auth/oauth2/exchange`.
    pub code: String,
}

impl Providers {
    /// The providers of `configs` (already validated with the settings).
    pub fn new(configs: &[OAuth2Provider]) -> Self {
        let http = oauth_http::Client::builder()
            .redirect(oauth_http::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            // Some providers' APIs (GitHub's) refuse requests without one.
            .user_agent(concat!("tinybase/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only when the TLS backend cannot start; the providers then
            // fail on use with a logged error instead of the server failing to start.
            .unwrap_or_else(|err| {
                tracing::error!(%err, "cannot build the OAuth2 HTTP client");
                oauth_http::Client::new()
            });
        let providers = configs
            .iter()
            .map(|config| {
                Arc::new(Provider {
                    config: config.resolved(),
                    metadata: Mutex::new(None),
                })
            })
            .collect();
        Self {
            providers: Arc::new(providers),
            http,
        }
    }

    /// Every provider, in configuration order.
    pub fn list(&self) -> Vec<ProviderInfo> {
        self.providers
            .iter()
            .map(|p| ProviderInfo {
                name: p.config.name.clone(),
                display_name: p
                    .config
                    .display_name
                    .clone()
                    .unwrap_or_else(|| p.config.name.clone()),
            })
            .collect()
    }

    fn get(&self, name: &str) -> Result<Arc<Provider>> {
        self.providers
            .iter()
            .find(|p| p.config.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no OAuth2 provider named '{name}'")))
    }

    /// The HTTP client `openidconnect` calls: each request owns its client handle, so the
    /// futures borrow nothing and handlers stay `Send`.
    fn http(
        &self,
    ) -> impl Fn(
        HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = std::result::Result<HttpResponse, ProviderHttpError>> + Send>,
    > + use<> {
        let client = self.http.clone();
        move |request| {
            let client = client.clone();
            Box::pin(async move { send(&client, request).await })
        }
    }

    /// Starts a sign-in with `provider`: the URL to send the browser to. `callback_url` is
    /// this server's callback for the provider; `redirect_to` (already checked) is where
    /// the app wants the browser back.
    ///
    /// # Errors
    /// 404 for an unknown provider; 503 `oauth2_provider_unavailable` when its discovery
    /// document cannot be read.
    pub async fn start(
        &self,
        db: &Database,
        provider: &str,
        callback_url: &str,
        redirect_to: &str,
    ) -> Result<String> {
        let provider = self.get(provider)?;
        if !provider.config.uses_discovery() {
            return plain::start(db, &provider.config, callback_url, redirect_to).await;
        }
        let metadata = self.metadata(&provider).await?;
        let client = client(&provider.config, metadata, callback_url)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = Nonce::new(random_hex(32)?);
        let state = issue_state(
            db,
            &provider.config,
            &verifier,
            Some(&nonce),
            redirect_to,
            callback_url,
        )
        .await?;
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || nonce,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes(&provider.config) {
            request = request.add_scope(Scope::new(scope));
        }
        let (url, _, _) = request.url();
        Ok(url.to_string())
    }

    /// Finishes a sign-in: `state` and `code` are what the provider sent back.
    ///
    /// # Errors
    /// 401 `oauth2_failed` for an unknown, used or expired state, a code the provider
    /// refuses (wrong PKCE verifier, replayed), an ID token that fails a check, or a
    /// userinfo endpoint that gives no user;
    /// 403 `registration_closed` for a new user when sign-ups are closed; 409
    /// `email_in_use` when an account with the email exists but cannot be linked.
    pub async fn finish(
        &self,
        db: &Database,
        provider_name: &str,
        state: String,
        code: String,
        registration_open: bool,
    ) -> Result<Finished> {
        let taken = db
            .write(move |tx| one_time::take_in(tx, Kind::OAuth2State, &state))
            .await?;
        let taken = match taken {
            Ok(taken) => taken,
            Err(Refusal::Invalid | Refusal::Expired) => {
                return Err(failed(
                    "the sign-in is unknown, already finished or expired; start again",
                ));
            }
        };
        let field = |name: &str| taken.payload[name].as_str().unwrap_or_default().to_owned();
        if field("provider") != provider_name {
            return Err(failed("the sign-in was started with another provider"));
        }
        let provider = self.get(provider_name)?;
        let (subject, email) = if provider.config.uses_discovery() {
            self.openid_user(&provider, &field, code).await?
        } else {
            self.plain_user(
                &provider.config,
                &field("callback_url"),
                code,
                field("pkce_verifier"),
            )
            .await?
        };
        let password_hash = {
            // An account made here has a password nobody knows until a reset sets one.
            let unknown = random_hex(32)?;
            super::password::run_limited(move || hash_password(&unknown)).await??
        };
        let identity = Identity {
            provider: provider_name.to_owned(),
            subject,
            email,
        };
        let redirect_to = field("redirect_to");
        let code = db
            .write(move |tx| {
                let user = sign_in_in(tx, &identity, registration_open, &password_hash)?;
                one_time::issue_in(tx, Kind::OAuth2Exchange, Some(&user.id), &json!({}))
            })
            .await?;
        Ok(Finished { redirect_to, code })
    }

    /// The OpenID Connect half of [`finish`](Self::finish): exchanges `code`, checks the ID
    /// token and returns its subject and the email (from the token or the userinfo
    /// endpoint) with whether the provider verified it.
    async fn openid_user(
        &self,
        provider: &Provider,
        field: &impl Fn(&str) -> String,
        code: String,
    ) -> Result<(String, Option<(String, bool)>)> {
        let provider_name = provider.config.name.as_str();
        let metadata = self.metadata(provider).await?;
        let client = client(&provider.config, metadata, &field("callback_url"))?;
        let http = self.http();
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(Error::internal)?
            .set_pkce_verifier(PkceCodeVerifier::new(field("pkce_verifier")))
            .request_async(&http)
            .await
            .map_err(|err| {
                tracing::info!(provider = provider_name, %err, "OAuth2 code refused");
                failed("the provider refused the sign-in code")
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| failed("the provider sent no ID token"))?;
        let nonce = Nonce::new(field("nonce"));
        let claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .map_err(|err| {
                tracing::info!(provider = provider_name, %err, "ID token refused");
                failed("the provider's ID token failed a check")
            })?;
        let subject = claims.subject().to_string();
        let mut email = claims
            .email()
            .map(|email| (email.to_string(), claims.email_verified().unwrap_or(false)));
        if email.is_none() {
            // Providers that follow the spec closely keep profile claims out of the ID
            // token of a code flow: ask the userinfo endpoint, for this same subject.
            if let Ok(request) = client.user_info(
                response.access_token().clone(),
                Some(claims.subject().clone()),
            ) {
                let info: std::result::Result<CoreUserInfoClaims, _> =
                    request.request_async(&http).await;
                match info {
                    Ok(info) => {
                        email = info.email().map(|email| {
                            (email.to_string(), info.email_verified().unwrap_or(false))
                        });
                    }
                    Err(err) => {
                        tracing::info!(provider = provider_name, %err, "userinfo refused");
                    }
                }
            }
        }
        Ok((subject, email))
    }

    /// Ends a sign-in the provider refused: where to send the browser with the error.
    ///
    /// # Errors
    /// 401 `oauth2_failed` for an unknown, used or expired state.
    pub async fn abandon(
        &self,
        db: &Database,
        provider_name: &str,
        state: String,
    ) -> Result<String> {
        let taken = db
            .write(move |tx| one_time::take_in(tx, Kind::OAuth2State, &state))
            .await?
            .map_err(|_| failed("the sign-in is unknown, already finished or expired"))?;
        if taken.payload["provider"].as_str() != Some(provider_name) {
            return Err(failed("the sign-in was started with another provider"));
        }
        Ok(taken.payload["redirect_to"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    async fn metadata(&self, provider: &Provider) -> Result<CoreProviderMetadata> {
        let mut cached = provider.metadata.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = provider.config.issuer.clone().unwrap_or_default();
        let issuer = IssuerUrl::new(issuer).map_err(Error::internal)?;
        let http = self.http();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|err| {
                tracing::warn!(provider = %provider.config.name, %err, "OpenID discovery failed");
                Error::new(
                    crate::ErrorKind::ServiceUnavailable,
                    "the sign-in provider cannot be reached; try again later",
                )
                .with_code("oauth2_provider_unavailable")
            })?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

/// Stores a sign-in's state (single use, expiring) with what the callback needs: the
/// provider, the PKCE verifier, the nonce (OpenID Connect only), where the app wants the
/// browser back and this server's callback URL. Returns the state to send the provider.
pub(super) async fn issue_state(
    db: &Database,
    config: &OAuth2Provider,
    verifier: &PkceCodeVerifier,
    nonce: Option<&Nonce>,
    redirect_to: &str,
    callback_url: &str,
) -> Result<String> {
    let mut payload = json!({
        "provider": config.name,
        "pkce_verifier": verifier.secret(),
        "redirect_to": redirect_to,
        "callback_url": callback_url,
    });
    if let (Some(nonce), Some(object)) = (nonce, payload.as_object_mut()) {
        object.insert("nonce".into(), json!(nonce.secret()));
    }
    db.write(move |tx| one_time::issue_in(tx, Kind::OAuth2State, None, &payload))
        .await
}

/// Who signed in at the provider.
struct Identity {
    provider: String,
    subject: String,
    /// The email and whether the provider verified it.
    email: Option<(String, bool)>,
}

/// The user for `identity`: the one already linked to it, else the account with its
/// verified email (linked now), else a new account.
fn sign_in_in(
    conn: &Connection,
    identity: &Identity,
    registration_open: bool,
    password_hash: &str,
) -> Result<User> {
    let linked: Option<String> = conn
        .query_row(
            "SELECT user_id FROM oauth2_identities WHERE provider = ?1 AND subject = ?2",
            params![identity.provider, identity.subject],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(user_id) = linked {
        return users::get_in(conn, &user_id);
    }
    let Some((email, provider_verified)) = &identity.email else {
        return Err(Error::invalid_field(
            "email",
            "the provider gave no email address; ask for the `email` scope",
        )
        .with_code("oauth2_no_email"));
    };
    let email = normalize_email(email);
    let user = match find_by_email_in(conn, &email)? {
        // Both sides must vouch for the address: otherwise whoever registered it here
        // first, or at the provider, could take over the other's account.
        Some(user) if *provider_verified && user.email_verified => user,
        Some(_) => {
            return Err(Error::conflict(
                "an account with this email exists; sign in with its password (and verify \
                 the email) before using this provider",
            )
            .with_code("email_in_use"));
        }
        None if !registration_open => {
            return Err(
                Error::forbidden("registration is closed; ask an admin for an account")
                    .with_code("registration_closed"),
            );
        }
        None => users::insert_in(conn, &email, password_hash, false, *provider_verified)?,
    };
    conn.execute(
        "INSERT INTO oauth2_identities (provider, subject, user_id, email, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            identity.provider,
            identity.subject,
            user.id,
            email,
            format_timestamp(now())
        ],
    )?;
    tracing::info!(user_id = %user.id, provider = %identity.provider, "OAuth2 identity linked");
    Ok(user)
}

/// The user a one-time exchange code was made for; the code then stops working.
///
/// # Errors
/// 401 `invalid_code` for an unknown, used or expired code.
pub async fn exchange(db: &Database, code: String) -> Result<User> {
    db.write(move |tx| {
        let taken = match one_time::take_in(tx, Kind::OAuth2Exchange, &code)? {
            Ok(taken) => taken,
            Err(_) => {
                return Ok(Err(Error::unauthorized(
                    "the code is unknown, already used or expired (codes last 60 s)",
                )
                .with_code("invalid_code")));
            }
        };
        let user_id = taken.user_id.unwrap_or_default();
        Ok(users::get_in(tx, &user_id))
    })
    .await?
}

/// A provider account linked to a user.
#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    /// The provider's name.
    pub provider: String,
    /// The email the provider gave when it was linked.
    pub email: Option<String>,
    /// When it was linked.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The provider accounts linked to `user_id`.
///
/// # Errors
/// Internal errors only.
pub async fn identities(db: &Database, user_id: &str) -> Result<Vec<LinkedIdentity>> {
    let user_id = user_id.to_owned();
    db.read(move |conn| {
        let mut statement = conn.prepare(
            "SELECT provider, email, created_at FROM oauth2_identities
             WHERE user_id = ?1 ORDER BY created_at, provider",
        )?;
        let rows = statement.query_map([&user_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (provider, email, created_at) = row?;
            out.push(LinkedIdentity {
                provider,
                email,
                created_at: crate::db::parse_timestamp(&created_at)?,
            });
        }
        Ok(out)
    })
    .await
}

/// Unlinks `user_id`'s account at `provider`.
///
/// # Errors
/// 404 when none is linked.
pub async fn unlink(db: &Database, user_id: &str, provider: &str) -> Result<()> {
    let (user_id, provider) = (user_id.to_owned(), provider.to_owned());
    db.write(move |tx| {
        let removed = tx.execute(
            "DELETE FROM oauth2_identities WHERE user_id = ?1 AND provider = ?2",
            params![user_id, provider],
        )?;
        if removed == 0 {
            return Err(Error::not_found("no identity of this provider is linked"));
        }
        Ok(())
    })
    .await
}

/// Whether `redirect_to` is one of the allowed URLs or lies under one: equal, or
/// continuing it at a boundary (`/`, `?` or `#`, or anything after an allowed URL that
/// ends with `/`). `https://app.example.com` allows `https://app.example.com/done` but
/// not `https://app.example.com.evil.io`.
pub fn redirect_allowed(redirect_to: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|base| {
        redirect_to.strip_prefix(base.as_str()).is_some_and(|rest| {
            rest.is_empty() || base.ends_with('/') || rest.starts_with(['/', '?', '#'])
        })
    })
}

fn scopes(config: &OAuth2Provider) -> Vec<String> {
    if config.scopes.is_empty() {
        vec!["email".to_owned(), "profile".to_owned()]
    } else {
        config
            .scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
            .cloned()
            .collect()
    }
}

fn client(
    config: &OAuth2Provider,
    metadata: CoreProviderMetadata,
    callback_url: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let redirect = RedirectUrl::new(callback_url.to_owned()).map_err(Error::internal)?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect))
}

fn failed(message: &str) -> Error {
    Error::unauthorized(message.to_owned()).with_code("oauth2_failed")
}

/// Why a request to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    /// The request could not be made or answered.
    #[error("request to the provider failed: {0}")]
    Request(#[from] oauth_http::Error),
    /// The answer could not be turned into a response.
    #[error("bad response from the provider: {0}")]
    Response(#[from] openidconnect::http::Error),
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the provider's response is too large")]
    TooLarge,
}

/// Sends one request for `openidconnect` with reqwest (redirects off).
async fn send(
    client: &oauth_http::Client,
    request: HttpRequest,
) -> std::result::Result<HttpResponse, ProviderHttpError> {
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = openidconnect::http::Response::builder().status(response.status());
    if let Some(headers) = builder.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    let body = read_limited(response).await?;
    Ok(builder.body(body)?)
}

/// The body of `response`, at most [`MAX_RESPONSE_BYTES`].
async fn read_limited(
    mut response: oauth_http::Response,
) -> std::result::Result<Vec<u8>, ProviderHttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ProviderHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_must_stay_under_an_allowed_url() {
        let allowed = vec![
            "https://app.example.com".to_owned(),
            "http://localhost:5173/auth/".to_owned(),
        ];
        for good in [
            "https://app.example.com",
            "https://app.example.com/done",
            "https://app.example.com?x=1",
            "http://localhost:5173/auth/callback",
        ] {
            assert!(redirect_allowed(good, &allowed), "{good}");
        }
        for bad in [
            "https://app.example.com.evil.io",
            "https://app.example.comx/",
            "https://evil.io/?https://app.example.com",
            "http://localhost:5173/other",
            "http://app.example.com/done",
            "",
        ] {
            assert!(!redirect_allowed(bad, &allowed), "{bad}");
        }
        assert!(!redirect_allowed("https://app.example.com", &[]));
    }
}
