//! Authentication: who is calling, users, password hashing, bearer tokens, login and
//! registration throttling, and the account flows (mail tokens, TOTP, OAuth2 sign-in).
//! No HTTP here: the API's extractors (in `api/extract`) build on this.

mod caller;
pub mod file_tokens;
pub mod mail_flows;
pub mod oauth2;
pub mod one_time;
pub mod password;
mod rate_limit;
pub mod sessions;
pub mod token;
mod token_cache;
pub mod totp;
pub mod users;

pub use caller::Caller;
pub use rate_limit::{LoginRateLimiter, MailRateLimiter, RegistrationRateLimiter};
pub use users::{User, Users};
