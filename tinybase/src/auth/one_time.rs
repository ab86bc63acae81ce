//! Single-use tokens: the links in account mails, the `mfa_token` between a password and
//! a TOTP code, and the OAuth2 state and exchange codes.
//!
//! Each is 256 random bits shown once; only its SHA-256 is stored. Taking a token deletes
//! it, so it works once. A mail token of one kind replaces the user's older one of that
//! kind ("the newest link wins").

use chrono::Duration;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::token;
use crate::db::{format_timestamp, now, parse_timestamp};
use crate::{Error, Result};

/// What a one-time token is for. Kinds never stand in for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Proves the user receives mail at their address.
    Verification,
    /// Lets the user set a new password.
    PasswordReset,
    /// Moves the user to the new address in the payload.
    EmailChange,
    /// Between a correct password and the TOTP code.
    Mfa,
    /// The `state` of an OAuth2 sign-in in progress (no user yet).
    OAuth2State,
    /// Hands a finished OAuth2 sign-in to the app that started it.
    OAuth2Exchange,
}

impl Kind {
    /// The name stored in the database.
    fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::Mfa => "mfa",
            Self::OAuth2State => "oauth2_state",
            Self::OAuth2Exchange => "oauth2_exchange",
        }
    }

    /// How long a token of this kind lives.
    pub fn ttl(self) -> Duration {
        match self {
            Self::Verification => Duration::hours(72),
            Self::PasswordReset | Self::EmailChange => Duration::hours(1),
            Self::Mfa | Self::OAuth2State => Duration::minutes(10),
            Self::OAuth2Exchange => Duration::seconds(60),
        }
    }

    /// Whether a new token of this kind voids the user's older ones.
    fn newest_only(self) -> bool {
        matches!(
            self,
            Self::Verification | Self::PasswordReset | Self::EmailChange
        )
    }
}

/// A token that was found: whose it is and what it carries.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The user it was issued for (none for an OAuth2 state).
    pub user_id: Option<String>,
    /// What was stored with it.
    pub payload: Value,
    /// When it would have expired.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, already used, replaced by a newer one, or of another kind.
    Invalid,
    /// It existed but its time ran out (it is gone now).
    Expired,
}

/// Stores a new token of `kind` inside the caller's transaction and returns it.
///
/// # Errors
/// Internal errors only.
pub(crate) fn issue_in(
    conn: &Connection,
    kind: Kind,
    user_id: Option<&str>,
    payload: &Value,
) -> Result<String> {
    let new = token::generate()?;
    if kind.newest_only()
        && let Some(user_id) = user_id
    {
        conn.execute(
            "DELETE FROM one_time_tokens WHERE user_id = ?1 AND kind = ?2",
            params![user_id, kind.as_str()],
        )?;
    }
    let at = now();
    conn.execute(
        "INSERT INTO one_time_tokens (token_hash, kind, user_id, payload, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            new.hash,
            kind.as_str(),
            user_id,
            payload.to_string(),
            format_timestamp(at),
            format_timestamp(at + kind.ttl())
        ],
    )?;
    Ok(new.token)
}

/// Finds and deletes the token, inside the caller's transaction: it works once, even
/// when the rest of the caller's work fails afterwards only if the caller commits.
///
/// # Errors
/// Internal errors only; a bad token is the inner `Err`.
pub(crate) fn take_in(
    conn: &Connection,
    kind: Kind,
    presented: &str,
) -> Result<std::result::Result<Taken, Refusal>> {
    let hash = token::hash(presented.trim());
    let found = conn
        .query_row(
            "DELETE FROM one_time_tokens WHERE token_hash = ?1 AND kind = ?2
             RETURNING user_id, payload, expires_at",
            params![hash, kind.as_str()],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((user_id, payload, expires_at)) = found else {
        return Ok(Err(Refusal::Invalid));
    };
    let expires_at = parse_timestamp(&expires_at)?;
    if expires_at <= now() {
        return Ok(Err(Refusal::Expired));
    }
    let payload = serde_json::from_str(&payload).map_err(Error::internal)?;
    Ok(Ok(Taken {
        user_id,
        payload,
        expires_at,
    }))
}

/// Stores `payload` with a token that was taken, under the same hash and expiry: used to
/// count wrong MFA codes without handing out a new token.
///
/// # Errors
/// Internal errors only.
pub(crate) fn put_back_in(
    conn: &Connection,
    kind: Kind,
    presented: &str,
    user_id: Option<&str>,
    payload: &Value,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO one_time_tokens (token_hash, kind, user_id, payload, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token::hash(presented.trim()),
            kind.as_str(),
            user_id,
            payload.to_string(),
            format_timestamp(now()),
            format_timestamp(expires_at)
        ],
    )?;
    Ok(())
}

/// Deletes every token of `kind` a user holds, inside the caller's transaction.
pub(crate) fn void_in(conn: &Connection, kind: Kind, user_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM one_time_tokens WHERE user_id = ?1 AND kind = ?2",
        params![user_id, kind.as_str()],
    )?;
    Ok(())
}

/// Deletes expired tokens; returns how many went.
pub(crate) fn prune_in(conn: &Connection) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM one_time_tokens WHERE expires_at <= ?1",
        [format_timestamp(now())],
    )?)
}
