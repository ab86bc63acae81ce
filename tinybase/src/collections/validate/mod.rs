//! Checking a collection schema when it is saved, and validating records against it.
//!
//! [`CompiledSchema::compile`] checks a [`CollectionSchema`] once (names, which constraints
//! apply to which types, patterns that compile, defaults that obey their own field) and
//! keeps the compiled regexes, so validating a record never re-parses a pattern.
//!
//! Record rules users rely on:
//! - Stored data never holds `null`: a `null` value means "no value", so the key is dropped
//!   (and a `field = null` filter matches it). On create, `null` and an absent key are the
//!   same thing, so the default applies to both. On a required field, both are "is required".
//! - An empty string is a value: it satisfies `required` (add `min_length: 1` to forbid it).
//! - Lengths count characters, not bytes.
//! - Patterns are searched, not anchored: `b` matches `"abc"`. Anchor with `^…$`.
//! - `int` values must be JSON integers: `3.0` is rejected like `3.5`, so every stored int
//!   is written as an integer and SQLite keeps it as one.
//! - `datetime` values are stored in UTC as `2026-01-31T12:00:00.000000Z` (the form system
//!   timestamps use), so text order is time order.
//! - `email` values are stored trimmed but otherwise as given (case is kept).
//! - `relation` values are stored as lower-case hyphenated UUIDs; whether the record exists
//!   is for the caller to check (see [`CompiledSchema::relations`]).

mod field;
mod formats;
mod record;
mod schema_check;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_support;

use regex::Regex;
use serde_json::{Map, Value};

use super::schema::{CollectionSchema, FieldSpec, OnDelete};
use crate::Result;

/// The most fields a collection may have.
pub const MAX_FIELDS: usize = 200;
/// The longest `pattern` accepted, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// The most memory one compiled `pattern` may take, in bytes; bounds what a hostile
/// pattern such as `(\w{100}){100}` can cost.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A schema that passed every check, with its regexes compiled once, ready to validate records.
///
/// ```
/// use tinybase::collections::schema::CollectionSchema;
/// use tinybase::collections::validate::CompiledSchema;
/// use tinybase::serde_json::{Map, Value, json};
///
/// let schema: CollectionSchema = tinybase::serde_json::from_value(json!({"fields": [
///     {"name": "title", "type": "string", "required": true, "max_length": 200},
///     {"name": "status", "type": "select", "values": ["draft", "published"], "default": "draft"},
/// ]}))?;
/// // No relation fields, so no collection needs to exist.
/// let compiled = CompiledSchema::compile(&schema, &|_| false)?;
///
/// let mut data = Map::new();
/// data.insert("title".into(), json!("Hello"));
/// let stored = compiled.validate_new(&data)?;
/// assert_eq!(Value::Object(stored), json!({"title": "Hello", "status": "draft"}));
///
/// data.insert("status".into(), json!("archived"));
/// let err = compiled.validate_new(&data).unwrap_err();
/// assert_eq!(
///     err.details(),
///     Some(&json!({"fields": {"status": "must be one of: draft, published"}}))
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    schema: CollectionSchema,
    /// One entry per `schema.fields`, in the same order.
    fields: Vec<CompiledField>,
}

/// What compiling one field produced.
#[derive(Debug, Clone)]
struct CompiledField {
    pattern: Option<Regex>,
    /// The default in its normalised, storable form.
    default: Option<Value>,
}

impl CompiledSchema {
    /// Checks `schema` and compiles it.
    ///
    /// `collection_exists(name)` answers whether a relation target exists (the caller
    /// passes a closure over its registry; a relation to the collection being defined itself
    /// is allowed — the caller handles that by including the own name).
    ///
    /// # Errors
    /// 422 "the schema is not valid", listing every problem at once under keys such as
    /// `schema.fields[2].name`, `schema.fields[2].default` or `schema.fields[0].pattern`.
    pub fn compile(
        schema: &CollectionSchema,
        collection_exists: &dyn Fn(&str) -> bool,
    ) -> Result<CompiledSchema> {
        let fields = schema_check::compile_fields(schema, collection_exists)?;
        Ok(CompiledSchema {
            schema: schema.clone(),
            fields,
        })
    }

    /// The schema as the admin wrote it.
    pub fn schema(&self) -> &CollectionSchema {
        &self.schema
    }

    /// Fields whose values must name an existing record: (field name, target collection name).
    pub fn relations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.schema
            .fields
            .iter()
            .filter_map(|f| Some((f.name.as_str(), f.collection.as_deref()?)))
    }

    /// Relation fields with what deleting their target does: (field, target, on_delete).
    pub fn relations_on_delete(&self) -> impl Iterator<Item = (&str, &str, OnDelete)> {
        self.schema.fields.iter().filter_map(|f| {
            Some((
                f.name.as_str(),
                f.collection.as_deref()?,
                f.on_delete.unwrap_or_default(),
            ))
        })
    }

    /// Names of `unique` fields.
    pub fn unique_fields(&self) -> impl Iterator<Item = &str> {
        self.schema
            .fields
            .iter()
            .filter(|f| f.unique)
            .map(|f| f.name.as_str())
    }

    /// For create: rejects unknown keys, applies defaults for absent (or null) fields, checks
    /// types and constraints, and returns the normalised data to store.
    ///
    /// # Errors
    /// 422 "the record is not valid" with one message per bad field in `details.fields`.
    pub fn validate_new(&self, data: &Map<String, Value>) -> Result<Map<String, Value>> {
        record::validate(self, data, record::Defaults::Apply)
    }

    /// For PATCH: merges `patch` over `existing` (top-level keys replace; a key set to null
    /// removes the field), then validates the whole result like [`validate_new`] but without
    /// applying defaults. Returns the normalised merged data.
    ///
    /// Because the whole result is checked, a stored value that no longer fits the schema
    /// (say, after a field was removed or tightened) must be fixed or removed in the same
    /// patch.
    ///
    /// # Errors
    /// 422 "the record is not valid" with one message per bad field in `details.fields`.
    ///
    /// [`validate_new`]: CompiledSchema::validate_new
    pub fn validate_patch(
        &self,
        existing: &Map<String, Value>,
        patch: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let merged = record::merge(existing, patch);
        record::validate(self, &merged, record::Defaults::Skip)
    }

    /// Each field's spec beside what compiling it produced.
    fn rules(&self) -> impl Iterator<Item = (&FieldSpec, &CompiledField)> {
        self.schema.fields.iter().zip(&self.fields)
    }
}
