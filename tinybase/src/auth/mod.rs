//! Authentication: who is calling, users, password hashing, bearer tokens and login and
//! registration throttling. No HTTP here: the API's extractors (in `api/extract`) build
//! on this.

mod caller;
pub mod password;
mod rate_limit;
pub mod sessions;
pub mod token;
pub mod users;

pub use caller::Caller;
pub use rate_limit::{LoginRateLimiter, RegistrationRateLimiter};
pub use users::User;
