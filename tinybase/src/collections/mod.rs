//! Collections of JSON records: schemas, validation, the filter and sort language, access
//! rules and the record service. HTTP-agnostic: the API layer and functions both call in.

pub mod filter;
pub mod schema;
pub mod validate;
