//! Bearer tokens resolved recently, so most authenticated requests learn their caller
//! without reading the database.
//!
//! A remembered user is handed out only while all of these hold:
//! - the database's identity version is still the one it was read at. Every committed
//!   change this process makes to `users` or `auth_tokens` moves the version on before
//!   the change is answered (see `db/identity.rs`), so a logout, a demotion or a deletion
//!   shows on the very next request, as it did when every request read afresh;
//! - it was read less than [`FRESH_FOR`] ago: changes made by another process (the
//!   `admin` command) do not move the version, and show within that time;
//! - the token has not expired.
//!
//! Unknown tokens are not remembered, so requests with made-up tokens cannot fill the
//! map; it is emptied when it reaches [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::users::User;

/// Longest a remembered user is used without reading it again.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// Most tokens remembered at once (across databases).
const MAX_ENTRIES: usize = 10_000;

/// A database (its process-wide id) and a token's hash.
pub(super) type Key = (u64, String);

struct Entry {
    /// The identity version the user was read at.
    version: u64,
    read_at: Instant,
    expires_at: DateTime<Utc>,
    user: User,
}

/// One map for the process: the request extractors reach only the database, and keys
/// carry the database's id, so databases opened side by side (as tests do) never share
/// an entry.
static TOKENS: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Mutex::default);

/// The user of the token under `key`, when it was read at `version`, recently enough,
/// and the token has not expired by `now`.
pub(super) fn remembered(key: &Key, version: u64, now: DateTime<Utc>) -> Option<User> {
    let tokens = lock();
    let entry = tokens.get(key)?;
    let usable =
        entry.version == version && entry.read_at.elapsed() < FRESH_FOR && entry.expires_at > now;
    usable.then(|| entry.user.clone())
}

/// Remembers that the token under `key` belonged to `user` (until `expires_at`) at
/// identity `version`.
pub(super) fn remember(key: Key, version: u64, expires_at: DateTime<Utc>, user: User) {
    let mut tokens = lock();
    if tokens.len() >= MAX_ENTRIES && !tokens.contains_key(&key) {
        tokens.clear();
    }
    tokens.insert(
        key,
        Entry {
            version,
            read_at: Instant::now(),
            expires_at,
            user,
        },
    );
}

fn lock() -> MutexGuard<'static, HashMap<Key, Entry>> {
    // Entries are replaced whole, so a panic elsewhere cannot leave one half-written.
    TOKENS.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> User {
        User {
            id: id.to_owned(),
            email: format!("{id}@example.com"),
            is_admin: false,
            email_verified: true,
            mfa_enabled: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_user_is_handed_out_only_at_its_version_and_before_the_token_expires() {
        let key: Key = (u64::MAX, "hash-a".to_owned());
        let now = Utc::now();
        remember(key.clone(), 7, now + chrono::Duration::hours(1), user("a"));
        assert_eq!(remembered(&key, 7, now).map(|u| u.id), Some("a".to_owned()));
        assert!(
            remembered(&key, 8, now).is_none(),
            "a newer version reads again"
        );
        assert!(
            remembered(&key, 7, now + chrono::Duration::hours(2)).is_none(),
            "an expired token is not a caller"
        );
        let other_database: Key = (u64::MAX - 1, "hash-a".to_owned());
        assert!(remembered(&other_database, 7, now).is_none());
    }
}
