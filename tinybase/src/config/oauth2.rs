//! `[[auth.oauth2]]` providers: what a `preset` fills in, and the checks on the result.

use super::settings::{OAuth2Preset, OAuth2Provider};

/// GitHub's endpoints (docs.github.com, "Authorizing OAuth apps" and "REST API: emails").
const GITHUB_AUTH_URL: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
const GITHUB_USERINFO_URL: &str = "https://api.github.com/user";
const GITHUB_EMAILS_URL: &str = "https://api.github.com/user/emails";
/// `read:user` for the profile, `user:email` for the (private) address list.
const GITHUB_SCOPES: [&str; 2] = ["read:user", "user:email"];
/// Google's OpenID Connect issuer.
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

impl OAuth2Preset {
    /// The preset's name, also the provider's default `name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Google => "google",
        }
    }

    /// The provider's usual spelling, its default `display_name`.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Github => "GitHub",
            Self::Google => "Google",
        }
    }
}

impl OAuth2Provider {
    /// This provider with its preset's values in every key not given (a key given in the
    /// settings always wins, so a preset can be pointed at another server). Without a
    /// preset, an unchanged copy.
    pub fn resolved(&self) -> OAuth2Provider {
        let mut out = self.clone();
        let Some(preset) = self.preset else {
            return out;
        };
        if out.name.is_empty() {
            out.name = preset.name().to_owned();
        }
        if out.display_name.is_none() {
            out.display_name = Some(preset.display_name().to_owned());
        }
        let fill = |slot: &mut Option<String>, value: &str| {
            if slot.is_none() {
                *slot = Some(value.to_owned());
            }
        };
        match preset {
            OAuth2Preset::Github => {
                fill(&mut out.auth_url, GITHUB_AUTH_URL);
                fill(&mut out.token_url, GITHUB_TOKEN_URL);
                fill(&mut out.userinfo_url, GITHUB_USERINFO_URL);
                fill(&mut out.emails_url, GITHUB_EMAILS_URL);
                if out.scopes.is_empty() {
                    out.scopes = GITHUB_SCOPES.iter().map(|s| (*s).to_owned()).collect();
                }
            }
            OAuth2Preset::Google => fill(&mut out.issuer, GOOGLE_ISSUER),
        }
        out
    }

    /// Whether the provider is OpenID Connect by discovery (`issuer`) rather than plain
    /// OAuth2 with explicit endpoints. Meaningful on a [`resolved`](Self::resolved) value.
    pub fn uses_discovery(&self) -> bool {
        self.issuer.is_some()
    }

    /// The explicit-endpoint keys that are set, by name.
    fn endpoints(&self) -> [(&'static str, Option<&String>); 4] {
        [
            ("auth_url", self.auth_url.as_ref()),
            ("token_url", self.token_url.as_ref()),
            ("userinfo_url", self.userinfo_url.as_ref()),
            ("emails_url", self.emails_url.as_ref()),
        ]
    }
}

/// Checks one provider as the settings give it (its preset applied here).
pub(super) fn check_provider(
    given: &OAuth2Provider,
    check_url: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    let provider = given.resolved();
    let name = &provider.name;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "provider name '{name}' must be 1 to 64 lower-case letters, digits, - or _"
        ));
    }
    let from_preset = given
        .preset
        .map(|p| format!(" (preset {})", p.name()))
        .unwrap_or_default();
    let explicit: Vec<&str> = provider
        .endpoints()
        .iter()
        .filter(|(_, url)| url.is_some())
        .map(|(key, _)| *key)
        .collect();
    match &provider.issuer {
        Some(_) if !explicit.is_empty() => {
            return Err(format!(
                "provider '{name}'{from_preset} has both issuer (OpenID Connect discovery) \
                 and {}; give one or the other",
                explicit.join(", ")
            ));
        }
        Some(issuer) => {
            check_url(issuer).map_err(|message| format!("provider '{name}': issuer {message}"))?;
        }
        None if explicit.is_empty() => {
            return Err(format!(
                "provider '{name}' has no issuer (the OpenID Connect issuer URL, e.g. \
                 https://accounts.google.com) and no explicit endpoints (auth_url, token_url \
                 and userinfo_url), nor a preset (github, google)"
            ));
        }
        None => {
            for (key, url) in provider.endpoints() {
                match url {
                    Some(url) => check_url(url)
                        .map_err(|message| format!("provider '{name}': {key} {message}"))?,
                    None if key == "emails_url" => {}
                    None => {
                        return Err(format!(
                            "provider '{name}' has no {key}: explicit endpoints need \
                             auth_url, token_url and userinfo_url"
                        ));
                    }
                }
            }
        }
    }
    if provider.client_id.trim().is_empty() {
        return Err(format!("provider '{name}' has no client_id"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> OAuth2Provider {
        OAuth2Provider {
            preset: Some(OAuth2Preset::Github),
            client_id: "id".to_owned(),
            ..OAuth2Provider::default()
        }
    }

    #[test]
    fn presets_fill_only_what_is_not_given() {
        let resolved = github().resolved();
        assert_eq!(resolved.name, "github");
        assert_eq!(resolved.display_name.as_deref(), Some("GitHub"));
        assert_eq!(resolved.auth_url.as_deref(), Some(GITHUB_AUTH_URL));
        assert_eq!(resolved.token_url.as_deref(), Some(GITHUB_TOKEN_URL));
        assert_eq!(resolved.userinfo_url.as_deref(), Some(GITHUB_USERINFO_URL));
        assert_eq!(resolved.emails_url.as_deref(), Some(GITHUB_EMAILS_URL));
        assert_eq!(resolved.scopes, ["read:user", "user:email"]);
        assert!(!resolved.uses_discovery());

        let given = OAuth2Provider {
            name: "gh".to_owned(),
            display_name: Some("Octo".to_owned()),
            token_url: Some("http://127.0.0.1:9/token".to_owned()),
            scopes: vec!["user:email".to_owned()],
            ..github()
        };
        let resolved = given.resolved();
        assert_eq!(resolved.name, "gh");
        assert_eq!(resolved.display_name.as_deref(), Some("Octo"));
        assert_eq!(
            resolved.token_url.as_deref(),
            Some("http://127.0.0.1:9/token")
        );
        assert_eq!(resolved.auth_url.as_deref(), Some(GITHUB_AUTH_URL));
        assert_eq!(resolved.scopes, ["user:email"]);

        let google = OAuth2Provider {
            preset: Some(OAuth2Preset::Google),
            ..OAuth2Provider::default()
        }
        .resolved();
        assert_eq!(google.issuer.as_deref(), Some(GOOGLE_ISSUER));
        assert!(google.uses_discovery());
        assert_eq!(google.auth_url, None);

        let plain = OAuth2Provider {
            name: "corp".to_owned(),
            ..OAuth2Provider::default()
        };
        assert_eq!(plain.resolved(), plain);
    }
}
