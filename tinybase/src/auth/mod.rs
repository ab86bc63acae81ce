//! Authentication: users, password hashing, bearer tokens, login throttling and the axum
//! extractors that tell handlers who is calling.

mod extract;
pub mod password;
mod rate_limit;
pub mod sessions;
pub mod token;
pub mod users;

pub use extract::{AdminUser, BEARER_SCHEME, BearerToken, CurrentUser};
pub use rate_limit::LoginRateLimiter;
pub use users::User;
