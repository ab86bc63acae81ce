//! Who is calling: a signed-in user, an anonymous client or the server itself, and the
//! two checks every access rule is built from. No HTTP here: the API maps requests to a
//! [`Caller`], and functions, schedules and the record service take one.

use crate::{Error, Result};

/// Who is asking: the signed-in user (if any) and whether they are an admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The caller's user id; `None` for anonymous requests and system work.
    pub user_id: Option<String>,
    /// Admins pass every rule.
    pub is_admin: bool,
    /// The signed-in user's email, for rules that name `@request.auth.email`; `None`
    /// when unknown (anonymous and system callers, callers built from an id alone).
    pub email: Option<String>,
    /// Whether the signed-in user has verified that email, for rules that name
    /// `@request.auth.email_verified`; `false` when unknown.
    pub email_verified: bool,
}

impl Caller {
    /// An anonymous caller.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A signed-in user.
    pub fn user(user_id: impl Into<String>, is_admin: bool) -> Self {
        Self {
            user_id: Some(user_id.into()),
            is_admin,
            email: None,
            email_verified: false,
        }
    }

    /// The signed-in `user`, email included.
    pub fn from_user(user: &crate::auth::User) -> Self {
        Self {
            user_id: Some(user.id.clone()),
            is_admin: user.is_admin,
            email: Some(user.email.clone()),
            email_verified: user.email_verified,
        }
    }

    /// Trusted server-side code (e.g. a scheduled job) that passes every rule.
    pub fn system() -> Self {
        Self {
            user_id: None,
            is_admin: true,
            email: None,
            email_verified: false,
        }
    }
}

impl Caller {
    /// The signed-in user's id (admins and the system pass without one).
    ///
    /// # Errors
    /// 401 for an anonymous caller.
    pub fn require_signed_in(&self) -> Result<()> {
        if self.is_admin || self.user_id.is_some() {
            Ok(())
        } else {
            Err(unauthenticated())
        }
    }

    /// Passes admins (and the system) only.
    ///
    /// # Errors
    /// 401 for an anonymous caller, 403 for a signed-in user who is not an admin.
    pub fn require_admin(&self) -> Result<()> {
        self.require_signed_in()?;
        if self.is_admin {
            Ok(())
        } else {
            Err(Error::forbidden("admin rights required"))
        }
    }
}

/// The 401 for work that needs a signed-in caller.
pub(crate) fn unauthenticated() -> Error {
    Error::unauthorized("authentication required: sign in and send your token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn signed_in_and_admin_checks() {
        let anon = Caller::anonymous();
        let user = Caller::user("u1", false);
        let admin = Caller::user("a1", true);
        let system = Caller::system();
        assert_eq!(
            anon.require_signed_in().unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            anon.require_admin().unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert!(user.require_signed_in().is_ok());
        assert_eq!(
            user.require_admin().unwrap_err().kind(),
            ErrorKind::Forbidden
        );
        for trusted in [admin, system] {
            assert!(trusted.require_signed_in().is_ok());
            assert!(trusted.require_admin().is_ok());
        }
    }
}
