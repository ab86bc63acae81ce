//! Providers without OpenID Connect: explicit `auth_url`, `token_url` and `userinfo_url`
//! (the GitHub preset, or any plain OAuth2 provider). The flow keeps the one-time state
//! and PKCE of the OpenID one, but there is no nonce and no ID token: after the code
//! exchange, who signed in comes from the userinfo endpoint (`sub` or `id`, `email`,
//! `email_verified`) and, when `emails_url` is set, the email from that list's primary
//! entry (GitHub's `[{email, verified, primary}]`).

use ::oauth2::basic::BasicClient;
use ::oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;

use super::{ProviderHttpError, Providers, failed, issue_state, read_limited};
use crate::config::{OAuth2Preset, OAuth2Provider};
use crate::db::Database;
use crate::{Error, Result};

/// A client with an authorization and a token endpoint.
type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The provider's OAuth2 client, sending the browser back to `callback_url`.
fn client(config: &OAuth2Provider, callback_url: &str) -> Result<Client> {
    // The settings check made sure the URLs are there and absolute; a failure here is a
    // bug, reported as an internal error rather than a panic.
    let url = |url: &Option<String>| url.clone().unwrap_or_default();
    let auth_url = AuthUrl::new(url(&config.auth_url)).map_err(Error::internal)?;
    let token_url = TokenUrl::new(url(&config.token_url)).map_err(Error::internal)?;
    let redirect = RedirectUrl::new(callback_url.to_owned()).map_err(Error::internal)?;
    let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(auth_url)
        .set_token_uri(token_url)
        .set_redirect_uri(redirect)
        // GitHub documents the secret as a form field; RFC 6749 servers must take HTTP
        // Basic, which is the crate's default.
        .set_auth_type(if config.preset == Some(OAuth2Preset::Github) {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        });
    if let Some(secret) = &config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

/// Starts a sign-in: stores the state with the PKCE verifier and returns the provider's
/// authorization URL.
pub(super) async fn start(
    db: &Database,
    config: &OAuth2Provider,
    callback_url: &str,
    redirect_to: &str,
) -> Result<String> {
    let client = client(config, callback_url)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = issue_state(db, config, &verifier, None, redirect_to, callback_url).await?;
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .set_pkce_challenge(challenge);
    for scope in &config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, _) = request.url();
    Ok(url.to_string())
}

impl Providers {
    /// The plain-OAuth2 half of [`finish`](Providers::finish): exchanges `code` with the
    /// PKCE verifier, then asks the userinfo endpoint (and the email list) who signed in.
    /// Returns the subject and the email with whether the provider verified it.
    pub(super) async fn plain_user(
        &self,
        config: &OAuth2Provider,
        callback_url: &str,
        code: String,
        pkce_verifier: String,
    ) -> Result<(String, Option<(String, bool)>)> {
        let name = config.name.as_str();
        let client = client(config, callback_url)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http())
            .await
            .map_err(|err| {
                tracing::info!(provider = name, %err, "OAuth2 code refused");
                failed("the provider refused the sign-in code")
            })?;
        let token = response.access_token().secret();
        let userinfo_url = config.userinfo_url.clone().unwrap_or_default();
        let profile = self.get_json(&userinfo_url, token).await.map_err(|err| {
            tracing::info!(provider = name, %err, "userinfo refused");
            failed("the provider did not tell who signed in")
        })?;
        let subject = subject_of(&profile)
            .ok_or_else(|| failed("the provider's user profile has no `sub` or `id`"))?;
        let mut email = email_of_profile(&profile);
        if let Some(emails_url) = &config.emails_url {
            match self.get_json(emails_url, token).await {
                Ok(list) => email = primary_email(&list).or(email),
                // Without the list only the profile's address is known, and it counts as
                // unverified: nothing is linked by it.
                Err(err) => tracing::info!(provider = name, %err, "email list refused"),
            }
        }
        Ok((subject, email))
    }

    /// GETs `url` with the access token and reads a JSON answer.
    async fn get_json(&self, url: &str, token: &str) -> std::result::Result<Value, String> {
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|err| ProviderHttpError::from(err).to_string())?;
        let status = response.status();
        let body = read_limited(response)
            .await
            .map_err(|err| err.to_string())?;
        if !status.is_success() {
            return Err(format!("HTTP {status} from {url}"));
        }
        serde_json::from_slice(&body).map_err(|err| format!("not JSON from {url}: {err}"))
    }
}

/// The user's id at the provider: OpenID's `sub`, or `id` (GitHub's is a number).
fn subject_of(profile: &Value) -> Option<String> {
    let id = match (&profile["sub"], &profile["id"]) {
        (Value::String(sub), _) => sub.clone(),
        (_, Value::String(id)) => id.clone(),
        (_, Value::Number(id)) => id.to_string(),
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// `email` and `email_verified` of a profile; a missing flag means not verified (GitHub's
/// profile `email` is only the public address, never vouched for).
fn email_of_profile(profile: &Value) -> Option<(String, bool)> {
    let email = profile["email"].as_str().filter(|e| !e.is_empty())?;
    Some((email.to_owned(), is_true(&profile["email_verified"])))
}

/// The primary address of an email list and whether it is verified; another verified
/// address does not count, as the account's address is the primary one.
fn primary_email(list: &Value) -> Option<(String, bool)> {
    let primary = list
        .as_array()?
        .iter()
        .find(|entry| entry["primary"] == Value::Bool(true))?;
    let email = primary["email"].as_str().filter(|e| !e.is_empty())?;
    Some((email.to_owned(), is_true(&primary["verified"])))
}

/// `true`, or the string `"true"` some providers send.
fn is_true(value: &Value) -> bool {
    value == &Value::Bool(true) || value.as_str() == Some("true")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_subject_is_sub_or_id() {
        assert_eq!(
            subject_of(&json!({"sub": "a1", "id": 5})),
            Some("a1".into())
        );
        assert_eq!(subject_of(&json!({"id": 583231})), Some("583231".into()));
        assert_eq!(subject_of(&json!({"id": "u-7"})), Some("u-7".into()));
        assert_eq!(subject_of(&json!({"sub": ""})), None);
        assert_eq!(subject_of(&json!({"id": null, "login": "octocat"})), None);
        assert_eq!(subject_of(&json!([])), None);
    }

    #[test]
    fn only_a_verified_flag_makes_an_email_verified() {
        assert_eq!(
            email_of_profile(&json!({"email": "a@x.io", "email_verified": true})),
            Some(("a@x.io".into(), true))
        );
        assert_eq!(
            email_of_profile(&json!({"email": "a@x.io", "email_verified": "true"})),
            Some(("a@x.io".into(), true))
        );
        assert_eq!(
            email_of_profile(&json!({"email": "a@x.io"})),
            Some(("a@x.io".into(), false))
        );
        assert_eq!(email_of_profile(&json!({"email": null})), None);
    }

    #[test]
    fn the_primary_address_of_a_list_is_the_email() {
        let list = json!([
            {"email": "old@x.io", "verified": true, "primary": false},
            {"email": "main@x.io", "verified": false, "primary": true},
        ]);
        assert_eq!(primary_email(&list), Some(("main@x.io".into(), false)));
        let list = json!([{"email": "main@x.io", "verified": true, "primary": true}]);
        assert_eq!(primary_email(&list), Some(("main@x.io".into(), true)));
        assert_eq!(
            primary_email(&json!([{"email": "a@x.io", "verified": true}])),
            None
        );
        assert_eq!(primary_email(&json!({"message": "Bad credentials"})), None);
    }
}
