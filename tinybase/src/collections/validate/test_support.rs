//! Helpers shared by this module's tests.

use serde_json::{Map, Value, json};

use super::CompiledSchema;
use crate::collections::schema::CollectionSchema;
use crate::{Error, ErrorKind};

/// A schema from its JSON form, as an admin would send it.
pub(super) fn schema(fields: Value) -> CollectionSchema {
    serde_json::from_value(json!({ "fields": fields })).expect("a well-formed test schema")
}

/// Compiles `fields` where only the collections `posts` and `users` exist.
pub(super) fn compile(fields: Value) -> Result<CompiledSchema, Error> {
    CompiledSchema::compile(&schema(fields), &|name| matches!(name, "posts" | "users"))
}

/// Compiles `fields`, which the test expects to be valid.
pub(super) fn compiled(fields: Value) -> CompiledSchema {
    compile(fields).expect("a valid test schema")
}

/// A JSON object as a map.
pub(super) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Checks that `result` is a 422 with `message` and exactly the per-field messages in
/// `fields` (a JSON object of key → message).
pub(super) fn assert_invalid<T: std::fmt::Debug>(
    result: Result<T, Error>,
    message: &str,
    fields: Value,
) {
    let err = result.expect_err("expected a validation error");
    assert_eq!(err.kind(), ErrorKind::Validation, "{err:?}");
    assert_eq!(err.message(), message);
    assert_eq!(err.details(), Some(&json!({ "fields": fields })));
}
