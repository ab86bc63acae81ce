//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock skew):
//! set-up, confirmation, and checking codes at sign-in. A code is accepted once: the step
//! it matched is stored, and codes of that step or earlier are refused afterwards.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use totp_rs::{Builder, Secret, Totp};

use super::one_time::{self, Kind, Refusal};
use super::users::{self, User};
use crate::db::{Database, format_timestamp, now};
use crate::{Error, Result};

/// Wrong codes one `mfa_token` may take before it stops working.
const MFA_TOKEN_ATTEMPTS: u64 = 5;
/// Recovery codes handed out at a time.
const RECOVERY_CODES: usize = 10;

/// A secret waiting for its first code.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The secret, base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://totp/…` URL, for a QR code.
    pub otpauth_url: String,
}

/// Starts TOTP set-up for `user`: a new secret that becomes active once
/// [`confirm`] sees a code from it. Starting again replaces a pending secret.
///
/// # Errors
/// 409 `mfa_already_enabled` when the user already has TOTP.
pub async fn setup(db: &Database, user: &User, issuer: &str) -> Result<TotpSetup> {
    if user.mfa_enabled {
        return Err(
            Error::conflict("TOTP is already enabled; an admin can reset it")
                .with_code("mfa_already_enabled"),
        );
    }
    let secret = Secret::generate().to_base32();
    let totp = totp(&secret, Some((issuer, &user.email)))?;
    let otpauth_url = totp
        .to_url()
        .map_err(|err| Error::internal(err.to_string()))?;
    let user_id = user.id.clone();
    let stored = secret.clone();
    db.write(move |tx| {
        tx.execute(
            "UPDATE users SET totp_pending_secret = ?2 WHERE id = ?1",
            params![user_id, stored],
        )?;
        Ok(())
    })
    .await?;
    Ok(TotpSetup {
        secret,
        otpauth_url,
    })
}

/// Turns TOTP on for `user_id` if `code` matches the pending secret.
///
/// # Errors
/// 409 `mfa_not_set_up` without a pending secret; 422 on `code` for a wrong code.
pub async fn confirm(db: &Database, user_id: &str, code: String) -> Result<User> {
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        let (enabled, pending): (bool, Option<String>) = tx.query_row(
            "SELECT totp_secret IS NOT NULL, totp_pending_secret FROM users WHERE id = ?1",
            [&user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if enabled {
            return Err(Error::conflict("TOTP is already enabled").with_code("mfa_already_enabled"));
        }
        let Some(secret) = pending else {
            return Err(Error::conflict(
                "TOTP is not being set up; call POST /api/auth/mfa/totp/setup first",
            )
            .with_code("mfa_not_set_up"));
        };
        let Some(step) = matching_step(&secret, &code)? else {
            return Err(Error::invalid_field("code", "is not the current code"));
        };
        tx.execute(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
                              totp_last_step = ?2, updated_at = ?3
             WHERE id = ?1",
            params![user_id, step_i64(step), format_timestamp(now())],
        )?;
        users::get_in(tx, &user_id)
    })
    .await
}

/// Turns TOTP off for `user_id` (an admin's reset), dropping any pending set-up and
/// any sign-in waiting for a code.
///
/// # Errors
/// 404 for an unknown user.
pub async fn reset(db: &Database, user_id: &str) -> Result<User> {
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        users::get_in(tx, &user_id)?;
        tx.execute(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL,
                              totp_last_step = NULL, totp_recovery_codes = '[]',
                              updated_at = ?2
             WHERE id = ?1",
            params![user_id, format_timestamp(now())],
        )?;
        one_time::void_in(tx, Kind::Mfa, &user_id)?;
        users::get_in(tx, &user_id)
    })
    .await
}

/// Turns TOTP off for `user_id` at the user's own request, proven with a current code
/// (or a recovery code) so that a stolen session alone cannot remove the second factor.
/// The code is spent; pending set-ups and sign-ins waiting for a code end too.
///
/// # Errors
/// 409 `mfa_not_enabled` when TOTP is off; 422 on `code` for a wrong or used code.
pub async fn disable(db: &Database, user_id: &str, code: String) -> Result<User> {
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        let enabled: bool = tx.query_row(
            "SELECT totp_secret IS NOT NULL FROM users WHERE id = ?1",
            [&user_id],
            |row| row.get(0),
        )?;
        if !enabled {
            return Ok(Err(
                Error::conflict("TOTP is not enabled").with_code("mfa_not_enabled")
            ));
        }
        if !accept_code_in(tx, &user_id, &code)? {
            return Ok(Err(Error::invalid_field(
                "code",
                "is not the current code or an unused recovery code",
            )));
        }
        tx.execute(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL,
                              totp_last_step = NULL, totp_recovery_codes = '[]',
                              updated_at = ?2
             WHERE id = ?1",
            params![user_id, format_timestamp(now())],
        )?;
        one_time::void_in(tx, Kind::Mfa, &user_id)?;
        Ok(Ok(users::get_in(tx, &user_id)?))
    })
    .await?
}

/// New recovery codes for `user_id` (who has TOTP on), replacing any earlier ones. Each
/// signs in once in place of a TOTP code; only their hashes are kept.
///
/// # Errors
/// 409 `mfa_not_enabled` when the user has no TOTP.
pub async fn recovery_codes(db: &Database, user_id: &str) -> Result<Vec<String>> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        // 60 random bits as three groups of five hex digits: easy to copy from paper.
        let hex = super::token::random_hex(8)?;
        codes.push(format!("{}-{}-{}", &hex[..5], &hex[5..10], &hex[10..15]));
    }
    let hashes: Vec<String> = codes.iter().map(|c| super::token::hash(c)).collect();
    let stored = serde_json::to_string(&hashes).map_err(Error::internal)?;
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        let changed = tx.execute(
            "UPDATE users SET totp_recovery_codes = ?2
             WHERE id = ?1 AND totp_secret IS NOT NULL",
            params![user_id, stored],
        )?;
        if changed == 0 {
            return Err(Error::conflict("turn TOTP on before making recovery codes")
                .with_code("mfa_not_enabled"));
        }
        Ok(())
    })
    .await?;
    Ok(codes)
}

/// The `mfa_token` for a user whose password was right and who has TOTP on.
///
/// # Errors
/// Internal errors only.
pub async fn start_sign_in(db: &Database, user_id: &str) -> Result<String> {
    let user_id = user_id.to_owned();
    db.write(move |tx| one_time::issue_in(tx, Kind::Mfa, Some(&user_id), &json!({"wrong": 0})))
        .await
}

/// Finishes a sign-in: the user of `mfa_token` if `code` is their current, unused code.
/// A wrong code counts against the token, which stops working after a few.
///
/// # Errors
/// 401 `invalid_mfa_token` for an unknown, used or expired token; 401 `invalid_mfa_code`
/// for a wrong or reused code.
pub async fn finish_sign_in(db: &Database, mfa_token: String, code: String) -> Result<User> {
    db.write(move |tx| {
        let taken = match one_time::take_in(tx, Kind::Mfa, &mfa_token)? {
            Ok(taken) => taken,
            Err(Refusal::Invalid | Refusal::Expired) => {
                return Ok(Err(Error::unauthorized(
                    "the mfa_token is unknown, used or expired; sign in again",
                )
                .with_code("invalid_mfa_token")));
            }
        };
        let user_id = taken.user_id.clone().unwrap_or_default();
        if accept_code_in(tx, &user_id, &code)? {
            return Ok(Ok(users::get_in(tx, &user_id)?));
        }
        let wrong = taken.payload["wrong"].as_u64().unwrap_or(0) + 1;
        if wrong < MFA_TOKEN_ATTEMPTS {
            one_time::put_back_in(
                tx,
                Kind::Mfa,
                &mfa_token,
                Some(&user_id),
                &json!({ "wrong": wrong }),
                taken.expires_at,
            )?;
        }
        Ok(Err(Error::unauthorized(
            "the code is wrong or was already used",
        )
        .with_code("invalid_mfa_code")))
    })
    .await?
}

/// Checks `code` against the user's active secret and, if it matches a step not used
/// before, spends that step; or, if it is one of the user's recovery codes, spends it.
fn accept_code_in(conn: &Connection, user_id: &str, code: &str) -> Result<bool> {
    if code.trim().contains('-') {
        return accept_recovery_code_in(conn, user_id, code);
    }
    let found: Option<(Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT totp_secret, totp_last_step FROM users WHERE id = ?1",
            [user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((Some(secret), last_step)) = found else {
        return Ok(false);
    };
    let Some(step) = matching_step(&secret, code)? else {
        return Ok(false);
    };
    let step = step_i64(step);
    if last_step.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    conn.execute(
        "UPDATE users SET totp_last_step = ?2 WHERE id = ?1",
        params![user_id, step],
    )?;
    Ok(true)
}

fn accept_recovery_code_in(conn: &Connection, user_id: &str, code: &str) -> Result<bool> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT totp_recovery_codes FROM users WHERE id = ?1 AND totp_secret IS NOT NULL",
            [user_id],
            |row| row.get(0),
        )
        .optional()?;
    let Some(stored) = stored else {
        return Ok(false);
    };
    let mut hashes: Vec<String> = serde_json::from_str(&stored).map_err(Error::internal)?;
    let presented = super::token::hash(&code.trim().to_ascii_lowercase());
    let before = hashes.len();
    hashes.retain(|h| *h != presented);
    if hashes.len() == before {
        return Ok(false);
    }
    conn.execute(
        "UPDATE users SET totp_recovery_codes = ?2 WHERE id = ?1",
        params![
            user_id,
            serde_json::to_string(&hashes).map_err(Error::internal)?
        ],
    )?;
    tracing::info!(
        user_id,
        left = hashes.len(),
        "signed in with a recovery code"
    );
    Ok(true)
}

/// The time step `code` matches for `secret` now (with one step of skew either way).
fn matching_step(secret: &str, code: &str) -> Result<Option<u64>> {
    let code = code.trim();
    // The library panics on codes it cannot parse only for digit counts we never use;
    // a code of the wrong shape simply does not match.
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let seconds = u64::try_from(now().timestamp()).unwrap_or(0);
    Ok(totp(secret, None)?.check(code, seconds))
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// The TOTP generator for a base32 `secret`, labelled for authenticator apps.
fn totp(secret: &str, label: Option<(&str, &str)>) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret).map_err(|err| Error::internal(err.to_string()))?;
    let mut builder = Builder::new().with_secret(secret);
    if let Some((issuer, account)) = label {
        // `:` separates issuer and account in an otpauth label, so neither may hold one.
        builder = builder
            .with_issuer(Some(issuer.replace(':', " ")))
            .with_account_name(account.replace(':', " "));
    }
    builder
        .build()
        .map_err(|err| Error::internal(err.to_string()))
}
