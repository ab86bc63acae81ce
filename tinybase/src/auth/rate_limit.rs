//! Login throttling: a fixed one-minute window per (client IP, email) and per client IP.
//!
//! Kept in memory: limits protect one process from password guessing, and a restart
//! forgetting them is harmless. Entries whose window has passed are swept when the map
//! grows, so memory stays bounded by the attempts of the last minute.

use std::collections::HashMap;
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
    windows: Mutex<HashMap<Key, Window>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    IpEmail(IpAddr, String),
}

struct Window {
    started: Instant,
    attempts: u32,
}

impl LoginRateLimiter {
    /// A limiter allowing `per_email` attempts per minute for one IP and email, and `per_ip`
    /// per minute for one IP. Zero switches a limit off.
    pub fn new(per_email: u32, per_ip: u32) -> Self {
        Self {
            per_email,
            per_ip,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `ip` for `email`.
    ///
    /// # Errors
    /// 429 with the seconds to wait when either limit is exhausted.
    pub fn check(&self, ip: IpAddr, email: &str) -> Result<()> {
        let now = Instant::now();
        // The lock guards plain counters; a panic cannot leave them inconsistent.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let keys = [
            (Key::Ip(ip), self.per_ip),
            (Key::IpEmail(ip, email.to_owned()), self.per_email),
        ];
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
            return Err(Error::new(
                ErrorKind::RateLimited { retry_after_secs },
                format!("too many login attempts; try again in {retry_after_secs} s"),
            ));
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
    }
}
