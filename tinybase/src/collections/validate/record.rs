//! Validating a whole record's data: unknown keys, null handling, defaults, required
//! fields, and every field's value, with all problems reported together.

use serde_json::{Map, Value};

use super::CompiledSchema;
use super::field::check_value;
use crate::{FieldErrors, Result};

/// Whether absent fields get their schema default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Defaults {
    /// On create.
    Apply,
    /// On update: a field the record lacks stays absent.
    Skip,
}

/// The message of every record validation error.
const INVALID_RECORD: &str = "the record is not valid";

/// Merges a PATCH body over stored data: top-level keys replace, a null removes the key.
pub(super) fn merge(
    existing: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = existing.clone();
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

/// Checks `data` against the schema and returns what to store: known fields only, each
/// normalised, never a null.
pub(super) fn validate(
    schema: &CompiledSchema,
    data: &Map<String, Value>,
    defaults: Defaults,
) -> Result<Map<String, Value>> {
    let mut problems = FieldErrors::default();
    for key in data.keys() {
        if schema.schema.field(key).is_none() {
            problems.add(key.as_str(), unknown_field_message(schema));
        }
    }

    let mut stored = Map::new();
    for (spec, compiled) in schema.rules() {
        // A null is "no value", the same as leaving the key out.
        let given = data.get(&spec.name).filter(|v| !v.is_null());
        let default = match defaults {
            Defaults::Apply => compiled.default.as_ref(),
            Defaults::Skip => None,
        };
        match (given, default) {
            (Some(value), _) => match check_value(spec, compiled.pattern.as_ref(), value) {
                Ok(normalised) => {
                    stored.insert(spec.name.clone(), normalised);
                }
                Err(message) => problems.add(spec.name.as_str(), message),
            },
            // Defaults were checked and normalised when the schema was compiled.
            (None, Some(default)) => {
                stored.insert(spec.name.clone(), default.clone());
            }
            (None, None) if spec.required => problems.add(spec.name.as_str(), "is required"),
            (None, None) => {}
        }
    }

    problems.into_result(INVALID_RECORD)?;
    Ok(stored)
}

fn unknown_field_message(schema: &CompiledSchema) -> String {
    let names: Vec<&str> = schema
        .schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    if names.is_empty() {
        "unknown field; the collection has no fields".to_owned()
    } else {
        format!("unknown field; the collection has: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{assert_invalid, compiled, object};
    use super::*;

    fn posts() -> CompiledSchema {
        compiled(json!([
            {"name": "title", "type": "string", "required": true, "max_length": 200},
            {"name": "rating", "type": "int", "min": 0, "max": 5},
            {"name": "status", "type": "select", "values": ["draft", "published"], "default": "draft"},
            {"name": "at", "type": "datetime", "default": "2026-01-01T01:00:00+01:00"},
            {"name": "note", "type": "text"},
        ]))
    }

    fn invalid(result: Result<Map<String, Value>>, fields: Value) {
        assert_invalid(result, INVALID_RECORD, fields);
    }

    #[test]
    fn create_applies_normalised_defaults_for_absent_and_null_fields() {
        let stored = posts()
            .validate_new(&object(json!({"title": "Hi", "at": null})))
            .expect("valid");
        assert_eq!(
            Value::Object(stored),
            json!({"title": "Hi", "status": "draft", "at": "2026-01-01T00:00:00.000000Z"})
        );
    }

    #[test]
    fn create_keeps_given_values_over_defaults() {
        let stored = posts()
            .validate_new(&object(
                json!({"title": "Hi", "status": "published", "rating": 4}),
            ))
            .expect("valid");
        assert_eq!(stored.get("status"), Some(&json!("published")));
        assert_eq!(stored.get("rating"), Some(&json!(4)));
    }

    #[test]
    fn null_on_an_optional_field_is_dropped() {
        let stored = posts()
            .validate_new(&object(
                json!({"title": "Hi", "rating": null, "note": null}),
            ))
            .expect("valid");
        assert!(!stored.contains_key("rating"));
        assert!(!stored.contains_key("note"));
    }

    #[test]
    fn required_fields_must_be_present_and_not_null() {
        invalid(
            posts().validate_new(&Map::new()),
            json!({"title": "is required"}),
        );
        invalid(
            posts().validate_new(&object(json!({"title": null}))),
            json!({"title": "is required"}),
        );
        // An empty string is a value.
        assert!(posts().validate_new(&object(json!({"title": ""}))).is_ok());
    }

    #[test]
    fn a_required_field_with_a_default_is_satisfied_on_create() {
        let s = compiled(json!([{"name": "n", "type": "int", "required": true, "default": 7}]));
        assert_eq!(
            s.validate_new(&Map::new()).expect("valid"),
            object(json!({"n": 7}))
        );
        invalid(
            s.validate_patch(&Map::new(), &Map::new()),
            json!({"n": "is required"}),
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_the_known_names() {
        invalid(
            posts().validate_new(&object(json!({"title": "Hi", "colour": "red", "id": "x"}))),
            json!({
                "colour": "unknown field; the collection has: title, rating, status, at, note",
                "id": "unknown field; the collection has: title, rating, status, at, note",
            }),
        );
        let empty = compiled(json!([]));
        invalid(
            empty.validate_new(&object(json!({"a": 1}))),
            json!({"a": "unknown field; the collection has no fields"}),
        );
    }

    #[test]
    fn every_bad_field_is_reported_together() {
        invalid(
            posts().validate_new(&object(json!({
                "title": "x".repeat(201),
                "rating": 9,
                "status": "gone",
                "at": "noon",
                "extra": true,
            }))),
            json!({
                "title": "must be at most 200 characters",
                "rating": "must be at most 5",
                "status": "must be one of: draft, published",
                "at": "must be a date and time in RFC 3339 form with an offset, like 2026-01-31T12:00:00Z",
                "extra": "unknown field; the collection has: title, rating, status, at, note",
            }),
        );
    }

    #[test]
    fn patch_replaces_removes_and_keeps() {
        let existing = object(json!({"title": "Old", "rating": 2, "status": "draft", "note": "n"}));
        let patch = object(json!({"title": "New", "rating": null}));
        let merged = posts().validate_patch(&existing, &patch).expect("valid");
        assert_eq!(
            Value::Object(merged),
            json!({"title": "New", "status": "draft", "note": "n"})
        );
    }

    #[test]
    fn patch_does_not_apply_defaults() {
        let merged = posts()
            .validate_patch(
                &object(json!({"title": "Old"})),
                &object(json!({"rating": 1})),
            )
            .expect("valid");
        assert_eq!(Value::Object(merged), json!({"title": "Old", "rating": 1}));
    }

    #[test]
    fn patch_normalises_the_values_it_sets() {
        let merged = posts()
            .validate_patch(
                &object(json!({"title": "Old"})),
                &object(json!({"at": "2026-03-01T12:00:00-03:00"})),
            )
            .expect("valid");
        assert_eq!(
            merged.get("at"),
            Some(&json!("2026-03-01T15:00:00.000000Z"))
        );
    }

    #[test]
    fn patch_validates_the_whole_result() {
        // Stored before the schema tightened: still invalid after a patch that leaves it alone.
        let existing = object(json!({"title": "Old", "rating": 9, "gone": 1}));
        invalid(
            posts().validate_patch(&existing, &object(json!({"note": "hi"}))),
            json!({
                "rating": "must be at most 5",
                "gone": "unknown field; the collection has: title, rating, status, at, note",
            }),
        );
        // Fixing both in the same patch works.
        let fixed = posts()
            .validate_patch(&existing, &object(json!({"rating": 5, "gone": null})))
            .expect("valid");
        assert_eq!(Value::Object(fixed), json!({"title": "Old", "rating": 5}));
    }

    #[test]
    fn patch_cannot_remove_a_required_field() {
        invalid(
            posts().validate_patch(
                &object(json!({"title": "Old"})),
                &object(json!({"title": null})),
            ),
            json!({"title": "is required"}),
        );
    }

    #[test]
    fn patch_rejects_unknown_and_bad_fields_together() {
        invalid(
            posts().validate_patch(
                &object(json!({"title": "Old"})),
                &object(json!({"rating": 3.0, "title": 5, "nope": 1})),
            ),
            json!({
                "rating": "must be an integer",
                "title": "must be a string",
                "nope": "unknown field; the collection has: title, rating, status, at, note",
            }),
        );
    }

    #[test]
    fn merge_ignores_null_for_absent_keys() {
        let merged = merge(
            &object(json!({"a": 1})),
            &object(json!({"b": null, "c": 2})),
        );
        assert_eq!(Value::Object(merged), json!({"a": 1, "c": 2}));
    }
}
