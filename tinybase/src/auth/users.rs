//! User accounts: create, look up, list, change and delete, with the rules that keep at
//! least one admin in place. HTTP-agnostic; the API layer calls these.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::password::{
    check_new_password, decoy_hash, hash_password, run_limited, verify_password,
};
use super::sessions;
use crate::db::{Database, format_timestamp, now, parse_timestamp};
use crate::pagination::{Page, Pagination};
use crate::text::contains_pattern;
pub use crate::text::{check_email, normalize_email};
use crate::{Error, FieldErrors, Result};

/// A user account as clients see it. The password hash never leaves the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    /// UUIDv7 of the user.
    pub id: String,
    /// Normalised (trimmed, lower-case) email address; unique.
    pub email: String,
    /// Whether the user may use the admin API.
    pub is_admin: bool,
    /// Whether the user has proved they receive mail at `email` (by a verification or
    /// password-reset link, an email change, a provider's verified email, or an admin).
    pub email_verified: bool,
    /// Whether sign-in asks for a TOTP code after the password.
    pub mfa_enabled: bool,
    /// When the account was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the account last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// Columns of `users` in the order [`User::from_row`] reads them.
pub(crate) const USER_COLUMNS: &str =
    "id, email, is_admin, created_at, updated_at, email_verified, totp_secret IS NOT NULL";

impl User {
    /// Reads a user from a row selected with [`USER_COLUMNS`] (possibly table-qualified).
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            email: row.get(1)?,
            is_admin: row.get(2)?,
            created_at: parse_timestamp(&row.get::<_, String>(3)?)?,
            updated_at: parse_timestamp(&row.get::<_, String>(4)?)?,
            email_verified: row.get(5)?,
            mfa_enabled: row.get(6)?,
        })
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email address; normalised before storing.
    pub email: String,
    /// Plain-text password; hashed before storing.
    pub password: String,
    /// Whether the new user is an admin.
    pub is_admin: bool,
    /// Whether the email counts as verified from the start.
    pub email_verified: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New email address.
    pub email: Option<String>,
    /// New password. Setting it signs the user out everywhere.
    pub password: Option<String>,
    /// Promote or demote.
    pub is_admin: Option<bool>,
    /// Mark the email verified or not.
    pub email_verified: Option<bool>,
}

/// What [`ensure_admin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnsureAdmin {
    /// A new admin account was created.
    Created,
    /// An existing user was made an admin.
    Promoted,
    /// The user was already an admin; nothing changed.
    AlreadyAdmin,
}

/// User accounts: the operations every part of TinyBase (the API, the command line,
/// functions) goes through, with the rules that keep at least one admin in place.
#[derive(Clone)]
pub struct Users {
    db: Database,
}

impl Users {
    /// The accounts in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Creates a user after checking the email and password.
    ///
    /// # Errors
    /// 422 naming each bad field; 409 when the email is taken.
    pub async fn create(&self, new: NewUser) -> Result<User> {
        let email = normalize_email(&new.email);
        let mut problems = FieldErrors::default();
        if let Some(msg) = check_email(&new.email) {
            problems.add("email", msg);
        }
        if let Some(msg) = check_new_password(&new.password) {
            problems.add("password", msg);
        }
        problems.into_result("the user is not valid")?;

        let password_hash = hash_blocking(new.password).await?;
        let is_admin = new.is_admin;
        let email_verified = new.email_verified;
        self.db
            .write(move |tx| {
                if email_taken(tx, &email, None)? {
                    return Err(email_conflict());
                }
                insert_in(tx, &email, &password_hash, is_admin, email_verified)
            })
            .await
    }

    /// Returns the user with this email and password.
    ///
    /// # Errors
    /// 401 with one message for an unknown email and a wrong password alike.
    pub async fn verify_credentials(&self, email: &str, password: String) -> Result<User> {
        let email = normalize_email(email);
        let found = self
            .db
            .read(move |conn| {
                Ok(conn
                    .query_row(
                        &format!(
                            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1"
                        ),
                        [&email],
                        |row| Ok((User::from_row(row)?, row.get::<_, String>(7)?)),
                    )
                    .optional()?)
            })
            .await?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, decoy_hash().to_owned()),
        };
        let matches = run_limited(move || verify_password(&password, &hash)).await?;
        match user {
            Some(user) if matches => Ok(user),
            _ => Err(Error::unauthorized("invalid email or password")),
        }
    }

    /// The user with this id.
    ///
    /// # Errors
    /// 404 when there is none.
    pub async fn get(&self, id: &str) -> Result<User> {
        let id = id.to_owned();
        self.db.read(move |conn| get_in(conn, &id)).await
    }

    /// One page of users, oldest first, optionally only those whose email contains `search`.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn list(&self, page: Pagination, search: Option<String>) -> Result<Page<User>> {
        let pattern = search
            .map(|s| normalize_email(&s))
            .filter(|s| !s.is_empty())
            .map(|s| contains_pattern(&s));
        self.db
            .read(move |conn| {
                let filter = "(?1 IS NULL OR email LIKE ?1 ESCAPE '\\')";
                let total: i64 = conn.query_row(
                    &format!("SELECT COUNT(*) FROM users WHERE {filter}"),
                    params![pattern],
                    |row| row.get(0),
                )?;
                let mut stmt = conn.prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE {filter}
             ORDER BY created_at, id LIMIT ?2 OFFSET ?3"
                ))?;
                let items = stmt
                    .query_map(
                        params![pattern, page.limit(), page.offset()],
                        User::from_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(page.page_of(items, u64::try_from(total).unwrap_or(0)))
            })
            .await
    }

    /// Applies `changes` to a user and returns the result. A new password revokes every token
    /// the user holds. The last admin cannot be demoted.
    ///
    /// # Errors
    /// 404 for an unknown user, 422 for a bad email or password, 409 for a taken email or
    /// for demoting the last admin.
    pub async fn update(&self, id: &str, changes: UserChanges) -> Result<User> {
        let email = changes.email.as_deref().map(normalize_email);
        let mut problems = FieldErrors::default();
        if let Some(msg) = changes.email.as_deref().and_then(check_email) {
            problems.add("email", msg);
        }
        if let Some(msg) = changes.password.as_deref().and_then(check_new_password) {
            problems.add("password", msg);
        }
        problems.into_result("the changes are not valid")?;

        let password_hash = match changes.password {
            Some(password) => Some(hash_blocking(password).await?),
            None => None,
        };
        let id = id.to_owned();
        let is_admin = changes.is_admin;
        let email_verified = changes.email_verified;
        self.db
            .write(move |tx| {
                let current = get_in(tx, &id)?;
                // Counted inside the write transaction, never before it: writes run one at a time,
                // so of two admins demoting each other at once the second sees one admin left.
                if current.is_admin && is_admin == Some(false) && admin_count(tx)? <= 1 {
                    return Err(Error::conflict(
                        "this is the last admin; promote another user before demoting this one",
                    ));
                }
                if let Some(email) = &email
                    && email_taken(tx, email, Some(&id))?
                {
                    return Err(email_conflict());
                }
                let at = format_timestamp(now());
                tx.execute(
                    "UPDATE users SET email = COALESCE(?2, email),
                              password_hash = COALESCE(?3, password_hash),
                              is_admin = COALESCE(?4, is_admin),
                              email_verified = COALESCE(?6, email_verified),
                              updated_at = ?5
             WHERE id = ?1",
                    params![id, email, password_hash, is_admin, at, email_verified],
                )?;
                if password_hash.is_some() {
                    sessions::revoke_all_in(tx, &id)?;
                }
                get_in(tx, &id)
            })
            .await
    }

    /// Deletes a user and, with them, their tokens. The last admin cannot be deleted.
    ///
    /// # Errors
    /// 404 for an unknown user, 409 for the last admin.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.db
            .write(move |tx| {
                let user = get_in(tx, &id)?;
                // Inside the write transaction for the same reason as in `Self::update`.
                if user.is_admin && admin_count(tx)? <= 1 {
                    return Err(Error::conflict(
                        "this is the last admin; promote another user before deleting this one",
                    ));
                }
                tx.execute("DELETE FROM users WHERE id = ?1", [&id])?;
                Ok(())
            })
            .await
    }

    /// How many admins exist.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn count_admins(&self) -> Result<u64> {
        self.db
            .read(|conn| Ok(u64::try_from(admin_count(conn)?).unwrap_or(0)))
            .await
    }

    /// Makes sure `email` is an admin: creates the account with `password` when it does not
    /// exist, otherwise promotes it (its password is left unchanged).
    ///
    /// # Errors
    /// 422 when creating with a bad email or password.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<EnsureAdmin> {
        let normalized = normalize_email(email);
        let lookup = normalized.clone();
        let existing = self
            .db
            .read(move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT id, is_admin FROM users WHERE email = ?1",
                        [&lookup],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)),
                    )
                    .optional()?)
            })
            .await?;
        match existing {
            Some((_, true)) => Ok(EnsureAdmin::AlreadyAdmin),
            Some((id, false)) => {
                let changes = UserChanges {
                    is_admin: Some(true),
                    ..UserChanges::default()
                };
                self.update(&id, changes).await?;
                Ok(EnsureAdmin::Promoted)
            }
            None => {
                // The operator named this address when setting the server up: it counts as
                // verified, so `auth.require_verified_email` never locks the first admin out.
                let new = NewUser {
                    email: normalized,
                    password: password.to_owned(),
                    is_admin: true,
                    email_verified: true,
                };
                self.create(new).await?;
                Ok(EnsureAdmin::Created)
            }
        }
    }
}

/// Inserts a user row inside the caller's transaction; the caller checked the email.
pub(crate) fn insert_in(
    conn: &Connection,
    email: &str,
    password_hash: &str,
    is_admin: bool,
    email_verified: bool,
) -> Result<User> {
    let at = format_timestamp(now());
    let id = Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO users (id, email, password_hash, is_admin, email_verified, created_at,
                            updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![id, email, password_hash, is_admin, email_verified, at],
    )?;
    get_in(conn, &id)
}

/// The user with this id, inside the caller's transaction or connection.
pub(crate) fn get_in(conn: &Connection, id: &str) -> Result<User> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        User::from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("no user with this id"))
}

fn admin_count(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COUNT(*) FROM users WHERE is_admin = 1", [], |row| {
            row.get(0)
        })?,
    )
}

/// The user with this (normalised) email, if any.
pub(crate) fn find_by_email_in(conn: &Connection, email: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
            [email],
            User::from_row,
        )
        .optional()?)
}

/// Whether another user than `except_id` has this email.
pub(crate) fn email_taken(conn: &Connection, email: &str, except_id: Option<&str>) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM users WHERE email = ?1 AND (?2 IS NULL OR id != ?2)",
            params![email, except_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// 409 for a taken email, naming the field.
pub(crate) fn email_conflict() -> Error {
    Error::conflict("a user with this email already exists")
        .with_details(serde_json::json!({ "fields": { "email": "is already taken" } }))
}

/// Hashes a password on the limited hashing pool.
pub(crate) async fn hash_blocking(password: String) -> Result<String> {
    run_limited(move || hash_password(&password)).await?
}
