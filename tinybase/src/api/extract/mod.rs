//! Every request extractor in one place, each rejecting with the error envelope: JSON
//! bodies, record bodies, query strings, path parameters, the client's IP and who is
//! calling.

mod body;
mod caller;
mod client_ip;
mod path;
mod query;
mod record_body;
mod record_input;

pub use body::{Json, JsonValue, parse_json};
pub(crate) use body::{body_timeout, timed_out};
pub use caller::{AdminUser, AnyCaller, BEARER_SCHEME, BearerToken, CurrentUser, MaybeBearer};
pub(crate) use caller::{optional_bearer, required_bearer};
pub use client_ip::ClientIp;
pub use path::Path;
pub use query::Query;
pub use record_body::{ParsedRecord, RecordBody};
pub use record_input::{MultipartBody, RecordInput};
pub(crate) use record_input::{REFUSED_BODY_READ_BYTES, REFUSED_BODY_READ_TIME};
