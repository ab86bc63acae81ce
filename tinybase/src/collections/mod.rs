//! Collections of JSON records: schemas, validation, the filter and sort language, access
//! rules and the record service. HTTP-agnostic: the API layer and functions both call in.

pub mod filter;
mod indexes;
pub mod model;
mod registry;
pub mod rules;
pub mod schema;
pub mod search;
mod service;
pub mod validate;

pub use model::{
    Collection, CollectionChanges, NewCollection, Record, RecordQuery, RecordViewQuery, RuleCheck,
    RuleCheckRequest, RuleKind,
};
pub use registry::LoadedCollection;
pub use rules::{Caller, CollectionOptions, Rule};
pub use schema::{CollectionSchema, FieldSpec, FieldType, OnDelete};
pub(crate) use service::record_matches;
pub use service::{
    BatchOperation, BatchOutcome, DEFINED_IN_CODE, Defined, JsonPieces, ListStatements,
    MAX_BATCH_OPERATIONS, Service, UploadedFile, batch_error_at, check_batch_size, check_file_type,
    empty_file, file_too_large, holds_file,
};
