//! Collections of JSON records: schemas, validation, the filter and sort language, access
//! rules and the record service. HTTP-agnostic: the API layer and functions both call in.

pub mod filter;
mod indexes;
pub mod model;
mod registry;
pub mod rules;
pub mod schema;
mod service;
pub mod validate;

pub use model::{Collection, CollectionChanges, NewCollection, Record, RecordQuery};
pub use registry::LoadedCollection;
pub use rules::{Caller, CollectionOptions, Rule};
pub use schema::{CollectionSchema, FieldSpec, FieldType};
pub use service::{ListStatements, Service};
