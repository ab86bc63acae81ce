//! Who a client's events are delivered as: anonymous, or the user of the bearer token it
//! subscribed with, checked again at least every [`RECHECK_AFTER`] so that a revoked or
//! expired token stops delivery promptly without a database read per event.

use std::time::{Duration, Instant};

use crate::auth::{Caller, User, sessions};
use crate::db::Database;
use crate::{Error, Result};

/// How long a token check is trusted.
pub(super) const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// The caller of every anonymous client, lent rather than built per event.
static ANONYMOUS: Caller = Caller {
    user_id: None,
    is_admin: false,
    email: None,
    email_verified: false,
};

/// A client's identity.
#[derive(Debug, Clone)]
pub(super) enum Identity {
    /// No token: sees what anonymous callers may.
    Anonymous,
    /// The user of `token`, as of `checked`.
    Token {
        token: String,
        caller: Caller,
        checked: Instant,
    },
}

impl Identity {
    /// The identity of a subscribing request.
    ///
    /// # Errors
    /// 401 for a token that is not (or no longer) valid.
    pub(super) async fn resolve(db: &Database, token: Option<String>) -> Result<Self> {
        let Some(token) = token else {
            return Ok(Self::Anonymous);
        };
        match sessions::user_for_token(db, &token).await? {
            Some(user) => Ok(Self::checked(token, &user)),
            None => Err(Error::unauthorized("the token is invalid or has expired")),
        }
    }

    /// `token`'s identity, just found to belong to `user`.
    pub(super) fn checked(token: String, user: &User) -> Self {
        Self::Token {
            token,
            caller: Caller::from_user(user),
            checked: Instant::now(),
        }
    }

    /// Who events are checked for.
    pub(super) fn caller(&self) -> &Caller {
        match self {
            Self::Anonymous => &ANONYMOUS,
            Self::Token { caller, .. } => caller,
        }
    }

    /// When the token is next due for a check; `None` without a token.
    pub(super) fn recheck_at(&self) -> Option<Instant> {
        match self {
            Self::Anonymous => None,
            Self::Token { checked, .. } => Some(*checked + RECHECK_AFTER),
        }
    }

    /// The token to check again, when the last check is too old.
    pub(super) fn stale_token(&self, now: Instant) -> Option<&str> {
        match self {
            Self::Token { token, checked, .. } if now.duration_since(*checked) >= RECHECK_AFTER => {
                Some(token)
            }
            _ => None,
        }
    }
}
