//! Short-lived file tokens: what `<img src>` and download links carry as `?token=`, since
//! they cannot send an `Authorization` header. A file token only opens files (never the
//! rest of the API) as its user, and only for a few minutes.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};

use super::token;
use super::users::{USER_COLUMNS, User};
use crate::Result;
use crate::db::{Database, format_timestamp, now};

/// How long a file token works: 5 minutes.
pub const FILE_TOKEN_TTL_SECS: i64 = 5 * 60;

/// A file token and when it stops working.
#[derive(Debug, Clone)]
pub struct FileToken {
    /// The token, shown once; only its hash is stored.
    pub token: String,
    /// Issue time plus [`FILE_TOKEN_TTL_SECS`].
    pub expires_at: DateTime<Utc>,
}

/// Issues a file token for `user_id`.
///
/// # Errors
/// Internal errors only.
pub async fn issue(db: &Database, user_id: &str) -> Result<FileToken> {
    let new = token::generate()?;
    let expires_at = now() + Duration::seconds(FILE_TOKEN_TTL_SECS);
    let user_id = user_id.to_owned();
    let hash = new.hash;
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO file_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![hash, user_id, format_timestamp(expires_at)],
        )?;
        Ok(())
    })
    .await?;
    Ok(FileToken {
        token: new.token,
        expires_at,
    })
}

/// The user of an unexpired file token, read fresh from the database.
///
/// # Errors
/// Internal errors only.
pub async fn user_for_token(db: &Database, file_token: &str) -> Result<Option<User>> {
    let hash = token::hash(file_token);
    let columns = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    db.read(move |conn| {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM file_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1 AND +t.expires_at > ?2"
            ))?
            .query_row(params![hash, format_timestamp(now())], User::from_row)
            .optional()?)
    })
    .await
}

/// Deletes expired file tokens; returns how many went.
///
/// # Errors
/// Internal errors only.
pub async fn prune_expired(db: &Database) -> Result<usize> {
    db.write(|tx| {
        Ok(tx.execute(
            "DELETE FROM file_tokens WHERE expires_at <= ?1",
            [format_timestamp(now())],
        )?)
    })
    .await
}
