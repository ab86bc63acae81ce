//! Throttling of logins, registrations and mail requests: fixed one-minute windows per
//! client IP (and, for logins, per client IP and email; for mails, per address).
//!
//! Kept in memory: limits protect one process from password guessing and mass sign-ups,
//! and a restart forgetting them is harmless. Entries whose window has passed are swept
//! when the map grows, so memory stays bounded by the attempts of the last minute.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, ErrorKind, Result};

/// The window that limits count attempts in.
const WINDOW: Duration = Duration::from_secs(60);
/// Sweep stale entries once the map holds this many keys.
const SWEEP_AT: usize = 10_000;

/// Counts login attempts and refuses those over the configured limits.
pub struct LoginRateLimiter {
    per_email: u32,
    per_ip: u32,
    windows: Windows<LoginKey>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum LoginKey {
    Ip(IpAddr),
    IpEmail(IpAddr, String),
}

impl LoginRateLimiter {
    /// A limiter allowing `per_email` attempts per minute for one IP and email, and `per_ip`
    /// per minute for one IP. Zero switches a limit off.
    pub fn new(per_email: u32, per_ip: u32) -> Self {
        Self {
            per_email,
            per_ip,
            windows: Windows::default(),
        }
    }

    /// Counts one attempt from `ip` for `email`.
    ///
    /// # Errors
    /// 429 with the seconds to wait when either limit is exhausted.
    pub fn check(&self, ip: IpAddr, email: &str) -> Result<()> {
        let keys = [
            (LoginKey::Ip(ip), self.per_ip),
            (LoginKey::IpEmail(ip, email.to_owned()), self.per_email),
        ];
        self.windows.count(keys).map_err(|retry_after_secs| {
            too_many(
                retry_after_secs,
                format!("too many login attempts; try again in {retry_after_secs} s"),
            )
        })
    }
}

/// Counts registration attempts per client IP and refuses those over the limit. Every
/// attempt counts, including those refused because the email is taken: otherwise the
/// "already exists" answer would be a free, unthrottled way to test which emails have
/// accounts.
pub struct RegistrationRateLimiter {
    per_ip: u32,
    windows: Windows<IpAddr>,
}

impl RegistrationRateLimiter {
    /// A limiter allowing `per_ip` registration attempts per minute from one IP; zero
    /// switches it off.
    pub fn new(per_ip: u32) -> Self {
        Self {
            per_ip,
            windows: Windows::default(),
        }
    }

    /// Counts one attempt from `ip`.
    ///
    /// # Errors
    /// 429 with the seconds to wait when the limit is exhausted.
    pub fn check(&self, ip: IpAddr) -> Result<()> {
        self.windows
            .count([(ip, self.per_ip)])
            .map_err(|retry_after_secs| {
                too_many(
                    retry_after_secs,
                    format!("too many registrations; try again in {retry_after_secs} s"),
                )
            })
    }
}

/// Counts requests that send a mail (verification, password reset, email change) per
/// client IP and per target address, so nobody can flood a mailbox from many IPs or
/// mail many addresses from one.
pub struct MailRateLimiter {
    per_email: u32,
    per_ip: u32,
    windows: Windows<MailKey>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum MailKey {
    Ip(IpAddr),
    Email(String),
}

impl MailRateLimiter {
    /// A limiter allowing `per_email` requests per minute for one address and `per_ip`
    /// per minute from one IP. Zero switches a limit off.
    pub fn new(per_email: u32, per_ip: u32) -> Self {
        Self {
            per_email,
            per_ip,
            windows: Windows::default(),
        }
    }

    /// Counts one request from `ip` about the (normalised) address `email`.
    ///
    /// # Errors
    /// 429 with the seconds to wait when either limit is exhausted.
    pub fn check(&self, ip: IpAddr, email: &str) -> Result<()> {
        let keys = [
            (MailKey::Ip(ip), self.per_ip),
            (MailKey::Email(email.to_owned()), self.per_email),
        ];
        self.windows.count(keys).map_err(|retry_after_secs| {
            too_many(
                retry_after_secs,
                format!("too many mail requests; try again in {retry_after_secs} s"),
            )
        })
    }
}

fn too_many(retry_after_secs: u64, message: String) -> Error {
    Error::new(ErrorKind::RateLimited { retry_after_secs }, message)
}

/// Attempt counters per key, each in its own fixed window.
struct Windows<K> {
    windows: Mutex<HashMap<K, Window>>,
}

struct Window {
    started: Instant,
    attempts: u32,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash> Windows<K> {
    /// Counts one attempt against every `(key, limit)` pair, or against none of them when
    /// any is exhausted; then `Err` holds the seconds until all of those windows end.
    /// A limit of zero is no limit: that key is neither checked nor counted.
    fn count<const N: usize>(&self, keys: [(K, u32); N]) -> Result<(), u64> {
        let now = Instant::now();
        // The lock guards plain counters; a panic cannot leave them inconsistent.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let mut wait = None;
        for (key, limit) in &keys {
            if *limit == 0 {
                continue;
            }
            if let Some(window) = windows.get(key) {
                let age = now.duration_since(window.started);
                if age < WINDOW && window.attempts >= *limit {
                    let left = WINDOW.saturating_sub(age).as_secs().max(1);
                    wait = Some(wait.map_or(left, |w: u64| w.max(left)));
                }
            }
        }
        if let Some(retry_after_secs) = wait {
            return Err(retry_after_secs);
        }
        for (key, limit) in keys {
            if limit == 0 {
                continue;
            }
            let window = windows.entry(key).or_insert(Window {
                started: now,
                attempts: 0,
            });
            if now.duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    attempts: 0,
                };
            }
            window.attempts += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn per_email_limit_is_per_ip_and_email() {
        let limiter = LoginRateLimiter::new(2, 0);
        assert!(limiter.check(IP, "a@x.io").is_ok());
        assert!(limiter.check(IP, "a@x.io").is_ok());
        let err = limiter.check(IP, "a@x.io").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::RateLimited { retry_after_secs } if retry_after_secs > 0)
        );
        assert!(limiter.check(IP, "b@x.io").is_ok());
        assert!(limiter.check(OTHER_IP, "a@x.io").is_ok());
    }

    #[test]
    fn per_ip_limit_spans_emails() {
        let limiter = LoginRateLimiter::new(0, 3);
        for email in ["a@x.io", "b@x.io", "c@x.io"] {
            assert!(limiter.check(IP, email).is_ok());
        }
        assert!(limiter.check(IP, "d@x.io").is_err());
        assert!(limiter.check(OTHER_IP, "d@x.io").is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = LoginRateLimiter::new(0, 0);
        for _ in 0..1000 {
            assert!(limiter.check(IP, "a@x.io").is_ok());
        }
        let limiter = RegistrationRateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check(IP).is_ok());
        }
    }

    #[test]
    fn mail_requests_are_limited_per_address_across_ips_and_per_ip() {
        let limiter = MailRateLimiter::new(2, 3);
        assert!(limiter.check(IP, "a@x.io").is_ok());
        assert!(limiter.check(OTHER_IP, "a@x.io").is_ok());
        let err = limiter.check(OTHER_IP, "a@x.io").unwrap_err();
        assert!(err.message().contains("mail requests"), "{err:?}");
        assert!(limiter.check(IP, "b@x.io").is_ok());
        assert!(limiter.check(IP, "c@x.io").is_ok());
        assert!(limiter.check(IP, "d@x.io").is_err());
    }

    #[test]
    fn registrations_are_limited_per_ip_apart_from_logins() {
        let limiter = RegistrationRateLimiter::new(2);
        assert!(limiter.check(IP).is_ok());
        assert!(limiter.check(IP).is_ok());
        let err = limiter.check(IP).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::RateLimited { retry_after_secs } if (1..=60).contains(&retry_after_secs)),
            "{err:?}"
        );
        assert!(err.message().contains("registrations"), "{err:?}");
        assert!(limiter.check(OTHER_IP).is_ok());
    }
}
