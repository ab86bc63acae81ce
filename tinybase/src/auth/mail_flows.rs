//! The account flows that go through a mail: email verification, password reset and
//! email change. Each has a request step, which makes a one-time token for the caller to
//! mail, and a confirm step, which takes the token back.
//!
//! The request steps reveal nothing: for an unknown email they return `None` just as for
//! a known one that needs no mail, and the HTTP layer answers both alike.

use serde_json::json;

use super::one_time::{self, Kind, Refusal};
use super::password::check_new_password;
use super::sessions;
use super::users::{
    self, User, check_email, email_conflict, email_taken, find_by_email_in, get_in, hash_blocking,
    normalize_email,
};
use crate::db::{Database, format_timestamp, now};
use crate::{Error, Result};

/// A token to mail: to whom, for which user.
#[derive(Debug, Clone)]
pub struct MailToken {
    /// The user it is for.
    pub user_id: String,
    /// The address to send it to.
    pub to: String,
    /// The token itself. Goes into the mail only; never logged.
    pub token: String,
}

/// A verification token for the user with `email`, or `None` when there is no such
/// user or their email is already verified.
///
/// # Errors
/// Internal errors only.
pub async fn request_verification(db: &Database, email: &str) -> Result<Option<MailToken>> {
    let email = normalize_email(email);
    db.write(move |tx| {
        let Some(user) = find_by_email_in(tx, &email)? else {
            return Ok(None);
        };
        if user.email_verified {
            return Ok(None);
        }
        let token = one_time::issue_in(
            tx,
            Kind::Verification,
            Some(&user.id),
            &json!({ "email": user.email }),
        )?;
        Ok(Some(MailToken {
            user_id: user.id,
            to: user.email,
            token,
        }))
    })
    .await
}

/// Marks the email of the token's user verified.
///
/// # Errors
/// 400 `invalid_token` or `token_expired`.
pub async fn confirm_verification(db: &Database, token: String) -> Result<User> {
    db.write(move |tx| {
        let user = take_for_current_email(tx, Kind::Verification, &token)?;
        tx.execute(
            "UPDATE users SET email_verified = 1, updated_at = ?2 WHERE id = ?1",
            rusqlite::params![user.id, format_timestamp(now())],
        )?;
        get_in(tx, &user.id)
    })
    .await
}

/// A password-reset token for the user with `email`, or `None` when there is none.
///
/// # Errors
/// Internal errors only.
pub async fn request_password_reset(db: &Database, email: &str) -> Result<Option<MailToken>> {
    let email = normalize_email(email);
    db.write(move |tx| {
        let Some(user) = find_by_email_in(tx, &email)? else {
            return Ok(None);
        };
        let token = one_time::issue_in(
            tx,
            Kind::PasswordReset,
            Some(&user.id),
            &json!({ "email": user.email }),
        )?;
        Ok(Some(MailToken {
            user_id: user.id,
            to: user.email,
            token,
        }))
    })
    .await
}

/// Sets the new password of the token's user and ends every session they have. The mail
/// reached them, so their email also counts as verified.
///
/// # Errors
/// 422 on `new_password` for a bad password (the token stays usable); 400
/// `invalid_token` or `token_expired`.
pub async fn confirm_password_reset(
    db: &Database,
    token: String,
    new_password: String,
) -> Result<User> {
    if let Some(message) = check_new_password(&new_password) {
        return Err(Error::invalid_field("new_password", message));
    }
    let hash = hash_blocking(new_password).await?;
    db.write(move |tx| {
        let user = take_for_current_email(tx, Kind::PasswordReset, &token)?;
        tx.execute(
            "UPDATE users SET password_hash = ?2, email_verified = 1, updated_at = ?3
             WHERE id = ?1",
            rusqlite::params![user.id, hash, format_timestamp(now())],
        )?;
        sessions::revoke_all_in(tx, &user.id)?;
        // A sign-in half-way through MFA was started with the old password.
        one_time::void_in(tx, Kind::Mfa, &user.id)?;
        get_in(tx, &user.id)
    })
    .await
}

/// An email-change token for `user_id`, to mail to `new_email`, or `None` when another
/// account has that address (which the caller must not reveal).
///
/// # Errors
/// 422 on `new_email` for a bad address or the user's own.
pub async fn request_email_change(
    db: &Database,
    user_id: &str,
    new_email: &str,
) -> Result<Option<MailToken>> {
    if let Some(message) = check_email(new_email) {
        return Err(Error::invalid_field("new_email", message));
    }
    let new_email = normalize_email(new_email);
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        let user = get_in(tx, &user_id)?;
        if user.email == new_email {
            return Err(Error::invalid_field(
                "new_email",
                "is already the email of this account",
            ));
        }
        if email_taken(tx, &new_email, Some(&user.id))? {
            return Ok(None);
        }
        let token = one_time::issue_in(
            tx,
            Kind::EmailChange,
            Some(&user.id),
            &json!({ "email": user.email, "new_email": new_email }),
        )?;
        Ok(Some(MailToken {
            user_id: user.id,
            to: new_email,
            token,
        }))
    })
    .await
}

/// Moves the token's user to the new address (verified: the mail reached it).
///
/// # Errors
/// 400 `invalid_token` or `token_expired`; 409 when another account took the address
/// in the meantime.
pub async fn confirm_email_change(db: &Database, token: String) -> Result<User> {
    db.write(move |tx| {
        let taken = take(tx, Kind::EmailChange, &token)?;
        let user = user_of(tx, &taken)?;
        let new_email = taken.payload["new_email"]
            .as_str()
            .ok_or_else(|| Error::internal("email-change token without new_email"))?
            .to_owned();
        if email_taken(tx, &new_email, Some(&user.id))? {
            return Err(email_conflict());
        }
        tx.execute(
            "UPDATE users SET email = ?2, email_verified = 1, updated_at = ?3 WHERE id = ?1",
            rusqlite::params![user.id, new_email, format_timestamp(now())],
        )?;
        // Links mailed to the old address must not act on the new one.
        one_time::void_in(tx, Kind::Verification, &user.id)?;
        one_time::void_in(tx, Kind::PasswordReset, &user.id)?;
        get_in(tx, &user.id)
    })
    .await
}

/// Takes a token of `kind` whose user still has the email it was mailed to.
fn take_for_current_email(conn: &rusqlite::Connection, kind: Kind, token: &str) -> Result<User> {
    let taken = take(conn, kind, token)?;
    let user = user_of(conn, &taken)?;
    if taken.payload["email"].as_str() != Some(user.email.as_str()) {
        return Err(invalid_token());
    }
    Ok(user)
}

fn take(conn: &rusqlite::Connection, kind: Kind, token: &str) -> Result<one_time::Taken> {
    match one_time::take_in(conn, kind, token)? {
        Ok(taken) => Ok(taken),
        Err(Refusal::Invalid) => Err(invalid_token()),
        Err(Refusal::Expired) => Err(Error::bad_request(
            "the token has expired; ask for a new mail",
        )
        .with_code("token_expired")),
    }
}

fn user_of(conn: &rusqlite::Connection, taken: &one_time::Taken) -> Result<User> {
    let user_id = taken.user_id.as_deref().unwrap_or_default();
    users::get_in(conn, user_id).map_err(|_| invalid_token())
}

fn invalid_token() -> Error {
    Error::bad_request("the token is not valid: unknown, already used or replaced by a newer one")
        .with_code("invalid_token")
}
