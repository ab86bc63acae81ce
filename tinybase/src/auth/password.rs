//! Password hashing with Argon2id.
//!
//! `Argon2::default()` is Argon2id with m = 19 MiB, t = 2, p = 1 — the OWASP recommendation.
//! Hashing is deliberately slow (tens of milliseconds), so callers run it on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use crate::{Error, Result};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most bytes a password may have; bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// At most one hash per CPU at a time. Each Argon2id hash takes 19 MiB; unbounded
/// concurrent logins would take memory in proportion to the attackers' connections (and
/// the allocator keeps it), while extra parallelism past the CPU count buys nothing.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
});

/// Runs password hashing work on the blocking pool, at most one job per CPU at a time.
///
/// # Errors
/// Internal errors only.
pub(crate) async fn run_limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|err| Error::internal(format!("password hashing unavailable: {err}")))?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// Checks a new password's length; returns the message to show when it is not acceptable.
pub fn check_new_password(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("must be at least {MIN_PASSWORD_CHARS} characters"))
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some(format!("must be at most {MAX_PASSWORD_BYTES} bytes"))
    } else {
        None
    }
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$...`) with a random salt.
///
/// # Errors
/// An internal error if the system random source fails.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| Error::internal(format!("password hashing failed: {err}")))
}

/// True when `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A valid hash of a password nobody knows. Verifying against it when an email is unknown
/// makes a failed login take as long as a wrong password does, so timing does not reveal
/// which emails have accounts.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0BtnwGk4L9UmE/S4AVM6LVnhIVdSsRkb+y3vsZk7Hbs"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn decoy_hash_parses_and_matches_nothing_common() {
        assert!(PasswordHash::new(decoy_hash()).is_ok());
        assert!(!verify_password("password", decoy_hash()));
    }

    #[test]
    fn length_rules_count_characters() {
        assert!(check_new_password("short").is_some());
        assert!(check_new_password("éééééééé").is_none());
        assert!(check_new_password(&"x".repeat(2000)).is_some());
    }
}
