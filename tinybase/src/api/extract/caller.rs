//! Who is calling, from the request's bearer token: [`CurrentUser`] (signed in),
//! [`AdminUser`] (signed-in admin), [`AnyCaller`] (signed in or anonymous, as a
//! [`Caller`]) and the raw [`BearerToken`] for logout; and how each is documented.
//!
//! Each request resolves its bearer token against the database, so admin rights and
//! account deletion take effect at once rather than when a token expires.

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{Operation, SecurityRequirement};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::auth::{Caller, User, sessions};
use crate::db::Database;
use crate::{Error, Result};

/// The name of the bearer security scheme in the OpenAPI document.
pub const BEARER_SCHEME: &str = "bearer";

/// A signed-in user. Rejects with 401 when the request has no valid token.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// A signed-in admin. Rejects with 401 without a valid token, 403 for a non-admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

/// The raw bearer token of a signed-in request, for logout. Rejects with 401 when the
/// request has no token, or one that is unknown, expired or revoked.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

/// Reads the bearer token: `Ok(None)` when there is no `Authorization` header.
fn bearer(parts: &Parts) -> Result<Option<&str>> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::unauthorized("the Authorization header must be `Bearer <token>`"))?;
    Ok(Some(token))
}

async fn resolve(parts: &Parts, db: &Database) -> Result<Option<User>> {
    let Some(token) = bearer(parts)? else {
        return Ok(None);
    };
    match sessions::user_for_token(db, token).await? {
        Some(user) => Ok(Some(user)),
        None => Err(Error::unauthorized("the token is invalid or has expired")),
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match resolve(parts, &Database::from_ref(state)).await? {
            Some(user) => Ok(Self(user)),
            None => Err(Error::unauthorized(
                "authentication required: send `Authorization: Bearer <token>`",
            )),
        }
    }
}

/// Absent header → `None`; a header with a bad token is still a 401, so a client with an
/// expired session finds out instead of silently acting as a guest.
impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>> {
        Ok(resolve(parts, &Database::from_ref(state)).await?.map(Self))
    }
}

impl<S> FromRequestParts<S> for AdminUser
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let CurrentUser(user) =
            <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.is_admin {
            Ok(Self(user))
        } else {
            Err(Error::forbidden("admin rights required"))
        }
    }
}

impl<S> FromRequestParts<S> for BearerToken
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        // The token must belong to a live session, as on every authenticated endpoint:
        // a client holding a stale token learns so instead of seeing a success.
        <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        match bearer(parts)? {
            Some(token) => Ok(Self(token.to_owned())),
            None => Err(Error::unauthorized(
                "authentication required: send `Authorization: Bearer <token>`",
            )),
        }
    }
}

/// The security requirement "a bearer token".
fn bearer_requirement() -> SecurityRequirement {
    [(BEARER_SCHEME.to_owned(), Vec::new())].into()
}

/// The security of an operation open to everyone whose rules decide by caller: a bearer
/// token, or nothing at all.
pub(crate) fn optional_bearer() -> Vec<SecurityRequirement> {
    vec![bearer_requirement(), SecurityRequirement::new()]
}

/// The security of an operation that needs a bearer token.
pub(crate) fn required_bearer() -> Vec<SecurityRequirement> {
    vec![bearer_requirement()]
}

fn add_security(operation: &mut Operation, requirements: Vec<SecurityRequirement>) {
    for requirement in requirements {
        if !operation.security.contains(&requirement) {
            operation.security.push(requirement);
        }
    }
}

fn require_bearer(operation: &mut Operation) {
    add_security(operation, required_bearer());
}

impl OperationInput for CurrentUser {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        require_bearer(operation);
    }
}

impl OperationInput for AdminUser {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        require_bearer(operation);
    }
}

impl OperationInput for BearerToken {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        require_bearer(operation);
    }
}

/// Whoever is calling: a signed-in user (with their admin flag) or anonymous. A bad token
/// is still a 401. Documented as optional bearer auth: the route's rules decide.
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Caller);

impl<S> FromRequestParts<S> for AnyCaller
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let user =
            <CurrentUser as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(Self(
            user.map_or_else(Caller::anonymous, |CurrentUser(user)| {
                Caller::from_user(&user)
            }),
        ))
    }
}

impl OperationInput for AnyCaller {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        add_security(operation, optional_bearer());
    }
}

/// The request's bearer token, if it sent one (not checked here: for handlers that keep
/// the token, such as realtime subscriptions, next to an [`AnyCaller`] that checks it).
#[derive(Debug, Clone)]
pub struct MaybeBearer(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeBearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        Ok(Self(bearer(parts)?.map(str::to_owned)))
    }
}

impl OperationInput for MaybeBearer {}
