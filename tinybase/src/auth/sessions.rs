//! Bearer-token sessions: issue on login, resolve on each request, revoke on logout.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::token;
use super::token_cache;
use super::users::{USER_COLUMNS, User};
use crate::Result;
use crate::db::{Database, format_timestamp, now, parse_timestamp};

/// A token handed to a client, with when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The bearer token. Shown once; only its hash is stored.
    pub token: String,
    /// Issue time plus the configured TTL.
    pub expires_at: DateTime<Utc>,
}

/// Issues a new token for `user_id`, valid for `ttl_hours`.
///
/// # Errors
/// Internal errors only (the user must exist).
pub async fn issue(db: &Database, user_id: &str, ttl_hours: u32) -> Result<IssuedToken> {
    let new = token::generate()?;
    let issued_at = now();
    let expires_at = issued_at + Duration::hours(i64::from(ttl_hours));
    let user_id = user_id.to_owned();
    let hash = new.hash;
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO auth_tokens (id, user_id, token_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                Uuid::now_v7().to_string(),
                user_id,
                hash,
                format_timestamp(issued_at),
                format_timestamp(expires_at)
            ],
        )?;
        Ok(())
    })
    .await?;
    Ok(IssuedToken {
        token: new.token,
        expires_at,
    })
}

/// The user a token belongs to, or `None` for an unknown or expired token. Read fresh
/// from the database unless this process read it since the last change to users or
/// tokens (and within the last second), so a demotion, deletion or logout takes effect on
/// the very next request (see `token_cache.rs`).
///
/// # Errors
/// Internal errors only.
pub async fn user_for_token(db: &Database, bearer: &str) -> Result<Option<User>> {
    let hash = token::hash(bearer);
    let Some((database, version)) = db.identity_version() else {
        return Ok(read_token_user(db, hash).await?.map(|(user, _)| user));
    };
    let key = (database, hash);
    if let Some(user) = token_cache::remembered(&key, version, now()) {
        return Ok(Some(user));
    }
    let found = read_token_user(db, key.1.clone()).await?;
    if let Some((user, expires_at)) = &found {
        token_cache::remember(key, version, *expires_at, user.clone());
    }
    Ok(found.map(|(user, _)| user))
}

/// The user of the unexpired token with `hash`, and when the token expires.
async fn read_token_user(db: &Database, hash: String) -> Result<Option<(User, DateTime<Utc>)>> {
    db.read_by_key(move |conn| {
        // Runs on most authenticated requests: prepared once per connection.
        let mut statement = conn.prepare_cached(&TOKEN_USER_SQL)?;
        Ok(statement
            .query_row(params![hash, format_timestamp(now())], |row| {
                let expires_at = parse_timestamp(&row.get::<_, String>(*USER_COLUMN_COUNT)?)?;
                Ok((User::from_row(row)?, expires_at))
            })
            .optional()?)
    })
    .await
}

/// The user of an unexpired token, by the token's hash, then the token's expiry.
static TOKEN_USER_SQL: LazyLock<String> = LazyLock::new(|| {
    let columns = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // `+` keeps the expiry out of index selection: the unique hash finds the row.
    format!(
        "SELECT {columns}, t.expires_at FROM auth_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND +t.expires_at > ?2"
    )
});

/// How many columns [`USER_COLUMNS`] names: the token's expiry follows them.
static USER_COLUMN_COUNT: LazyLock<usize> = LazyLock::new(|| USER_COLUMNS.split(", ").count());

/// Revokes one token. Revoking an unknown token is not an error.
///
/// # Errors
/// Internal errors only.
pub async fn revoke(db: &Database, bearer: &str) -> Result<()> {
    let hash = token::hash(bearer);
    db.write(move |tx| {
        tx.execute("DELETE FROM auth_tokens WHERE token_hash = ?1", [hash])?;
        Ok(())
    })
    .await
}

/// Revokes every token of a user, inside the caller's transaction.
pub(crate) fn revoke_all_in(conn: &Connection, user_id: &str) -> Result<usize> {
    Ok(conn.execute("DELETE FROM auth_tokens WHERE user_id = ?1", [user_id])?)
}

/// Deletes expired tokens (bearer tokens and one-time tokens alike) and returns how many
/// went.
///
/// # Errors
/// Internal errors only.
pub async fn prune_expired(db: &Database) -> Result<usize> {
    db.write(|tx| {
        let sessions = tx.execute(
            "DELETE FROM auth_tokens WHERE expires_at <= ?1",
            [format_timestamp(now())],
        )?;
        Ok(sessions + super::one_time::prune_in(tx)?)
    })
    .await
}
