//! Checking a schema when an admin saves it, and compiling each field's pattern and default.
//!
//! Every problem is collected, keyed `schema.fields[i].<attribute>`, so one 422 shows the
//! admin all of them. A field's default is only checked once the field's own constraints
//! are sound: a default judged against a contradictory field would give a misleading message.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::field::check_value;
use super::{CompiledField, MAX_FIELDS, MAX_PATTERN_CHARS, PATTERN_SIZE_LIMIT};
use crate::collections::schema::{CollectionSchema, FieldSpec, FieldType, RESERVED_FIELD_NAMES};
use crate::{FieldErrors, Result};

/// The message of every schema validation error.
const INVALID_SCHEMA: &str = "the schema is not valid";

/// Types that take `min`/`max`.
const NUMERIC: &[FieldType] = &[
    FieldType::Int,
    FieldType::Float,
    FieldType::ListInt,
    FieldType::ListFloat,
];
/// Types that take `min_length`/`max_length`.
const SIZED: &[FieldType] = &[
    FieldType::String,
    FieldType::Text,
    FieldType::Email,
    FieldType::Url,
    FieldType::ListString,
    FieldType::ListInt,
    FieldType::ListFloat,
    FieldType::ListFile,
    FieldType::ListRelation,
];
/// Types that take `collection` and `on_delete`.
const RELATIONS: &[FieldType] = &[FieldType::Relation, FieldType::ListRelation];
/// Types that take `max_size` and `mime_types`.
const FILES: &[FieldType] = &[FieldType::File, FieldType::ListFile];
/// The largest `max_size` accepted: 1 TiB, far above any real upload, but a bound.
const MAX_FILE_SIZE_LIMIT: u64 = 1 << 40;
/// Types that take `pattern`.
const PATTERNED: &[FieldType] = &[
    FieldType::String,
    FieldType::Text,
    FieldType::Email,
    FieldType::Url,
    FieldType::ListString,
];
/// Types that may be `unique`: compared as one scalar, so "the same value" is well defined.
const UNIQUABLE: &[FieldType] = &[
    FieldType::String,
    FieldType::Text,
    FieldType::Int,
    FieldType::Float,
    FieldType::Datetime,
    FieldType::Date,
    FieldType::Email,
    FieldType::Url,
    FieldType::Select,
    FieldType::Relation,
];

/// Checks every rule and compiles each field, or reports every problem at once.
pub(super) fn compile_fields(
    schema: &CollectionSchema,
    collection_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<CompiledField>> {
    let mut errors = FieldErrors::default();
    if schema.fields.len() > MAX_FIELDS {
        errors.add(
            "schema.fields",
            format!(
                "must have at most {MAX_FIELDS} fields (it has {})",
                schema.fields.len()
            ),
        );
    }

    let mut first_index: HashMap<&str, usize> = HashMap::new();
    let mut compiled = Vec::with_capacity(schema.fields.len());
    for (index, spec) in schema.fields.iter().enumerate() {
        if let Some(message) = check_name(&spec.name) {
            errors.add(format!("schema.fields[{index}].name"), message);
        } else if let Some(first) = first_index.get(spec.name.as_str()) {
            errors.add(
                format!("schema.fields[{index}].name"),
                format!("is already used by schema.fields[{first}]"),
            );
        } else {
            first_index.insert(&spec.name, index);
        }

        let mut field = FieldProblems {
            errors: &mut errors,
            index,
            found: false,
        };
        check_constraints(spec, collection_exists, &mut field);
        let pattern = compile_pattern(spec, &mut field);
        let default = if field.found {
            None
        } else {
            check_default(spec, pattern.as_ref(), &mut field)
        };
        compiled.push(CompiledField { pattern, default });
    }

    errors.into_result(INVALID_SCHEMA)?;
    Ok(compiled)
}

/// The problems of one field, remembering whether there were any.
struct FieldProblems<'a> {
    errors: &'a mut FieldErrors,
    index: usize,
    found: bool,
}

impl FieldProblems<'_> {
    fn add(&mut self, attribute: &str, message: impl Into<String>) {
        self.errors.add(
            format!("schema.fields[{}].{attribute}", self.index),
            message,
        );
        self.found = true;
    }
}

/// `^[a-z][a-z0-9_]{0,62}$` and not a system field. Written out rather than as a regex so
/// there is nothing to compile and nothing that could fail.
fn check_name(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let shaped = bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !shaped {
        return Some(
            "must start with a lower-case letter and hold only lower-case letters, digits and _ \
             (at most 63 characters)"
                .to_owned(),
        );
    }
    RESERVED_FIELD_NAMES.contains(&name).then(|| {
        format!(
            "is reserved for a system field (reserved: {})",
            RESERVED_FIELD_NAMES.join(", ")
        )
    })
}

/// Which constraints apply to the type, and whether they agree with each other.
fn check_constraints(
    spec: &FieldSpec,
    collection_exists: &dyn Fn(&str) -> bool,
    field: &mut FieldProblems<'_>,
) {
    let t = spec.field_type;
    let misplaced = [
        ("min", spec.min.is_some(), NUMERIC),
        ("max", spec.max.is_some(), NUMERIC),
        ("min_length", spec.min_length.is_some(), SIZED),
        ("max_length", spec.max_length.is_some(), SIZED),
        ("pattern", spec.pattern.is_some(), PATTERNED),
        ("values", spec.values.is_some(), &[FieldType::Select]),
        ("collection", spec.collection.is_some(), RELATIONS),
        ("unique", spec.unique, UNIQUABLE),
        (
            "searchable",
            spec.searchable,
            &[FieldType::String, FieldType::Text],
        ),
        ("max_size", spec.max_size.is_some(), FILES),
        ("mime_types", spec.mime_types.is_some(), FILES),
        ("on_delete", spec.on_delete.is_some(), RELATIONS),
    ];
    for (attribute, set, types) in misplaced {
        if set && !types.contains(&t) {
            field.add(
                attribute,
                format!("applies only to {} fields", list_types(types)),
            );
        }
    }

    for (attribute, bound) in [("min", spec.min), ("max", spec.max)] {
        match bound {
            Some(b) if !b.is_finite() => field.add(attribute, "must be a finite number"),
            Some(b) if matches!(t, FieldType::Int | FieldType::ListInt) && b.fract() != 0.0 => {
                field.add(
                    attribute,
                    format!("must be a whole number for {} fields", t.as_str()),
                );
            }
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (spec.min, spec.max)
        && min > max
    {
        field.add("min", format!("must not be greater than max ({max})"));
    }
    if let (Some(min), Some(max)) = (spec.min_length, spec.max_length)
        && min > max
    {
        field.add(
            "min_length",
            format!("must not be greater than max_length ({max})"),
        );
    }

    if t == FieldType::Select {
        check_select_values(spec.values.as_deref(), field);
    }
    if t.is_file() {
        check_file_constraints(spec, field);
    }
    if t.is_relation() {
        match spec.collection.as_deref() {
            None => field.add(
                "collection",
                format!("is required for {} fields", t.as_str()),
            ),
            Some(target) if !collection_exists(target) => {
                field.add("collection", format!("no collection is named \"{target}\""));
            }
            Some(_) => {}
        }
        let set_null = spec.on_delete == Some(crate::collections::schema::OnDelete::SetNull);
        // For a list, set_null removes one id and leaves the (possibly empty) list, so
        // `required` still holds; a lower bound on its length may not.
        if set_null && t == FieldType::Relation && spec.required {
            field.add(
                "on_delete",
                "cannot be set_null on a required field: the record would become invalid",
            );
        }
        if set_null && t == FieldType::ListRelation && spec.min_length.is_some_and(|n| n > 0) {
            field.add(
                "on_delete",
                "cannot be set_null with a min_length: removing an id could leave the list too \
                 short",
            );
        }
    }
}

/// `max_size` within bounds, `mime_types` of the form `type/subtype` or `type/*`, and no
/// default: a file field's value comes from an upload.
fn check_file_constraints(spec: &FieldSpec, field: &mut FieldProblems<'_>) {
    if let Some(size) = spec.max_size
        && !(1..=MAX_FILE_SIZE_LIMIT).contains(&size)
    {
        field.add(
            "max_size",
            format!("must be from 1 to {MAX_FILE_SIZE_LIMIT} bytes"),
        );
    }
    match spec.mime_types.as_deref() {
        Some([]) => field.add("mime_types", "must list at least one type"),
        Some(types) => {
            if let Some(bad) = types.iter().find(|t| !is_mime_pattern(t)) {
                field.add(
                    "mime_types",
                    format!("\"{bad}\" is not a content type like image/png or image/*"),
                );
            }
        }
        None => {}
    }
    if spec.default.is_some() {
        field.add(
            "default",
            "file fields take no default: their values come from uploads",
        );
    }
}

/// `type/subtype` or `type/*`, each part a token of letters, digits and `.+-_`.
fn is_mime_pattern(text: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
    };
    match text.split_once('/') {
        Some((top, "*")) => token(top),
        Some((top, sub)) => token(top) && token(sub),
        None => false,
    }
}

fn check_select_values(values: Option<&[String]>, field: &mut FieldProblems<'_>) {
    let problem = match values {
        None => Some("is required for select fields".to_owned()),
        Some([]) => Some("must list at least one value".to_owned()),
        Some(values) => values
            .iter()
            .enumerate()
            .find(|(index, value)| values[..*index].contains(value))
            .map(|(_, value)| format!("lists \"{value}\" more than once")),
    };
    if let Some(message) = problem {
        field.add("values", message);
    }
}

/// Compiles the pattern with a bounded size, so a hostile pattern is refused rather than
/// allowed to take memory and time on every record.
fn compile_pattern(spec: &FieldSpec, field: &mut FieldProblems<'_>) -> Option<Regex> {
    let pattern = spec.pattern.as_deref()?;
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        field.add(
            "pattern",
            format!("must be at most {MAX_PATTERN_CHARS} characters"),
        );
        return None;
    }
    match RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
    {
        Ok(regex) => Some(regex),
        Err(regex::Error::CompiledTooBig(_)) => {
            field.add("pattern", "is too complex: its compiled form is too large");
            None
        }
        Err(err) => {
            field.add(
                "pattern",
                format!("is not a valid regular expression: {}", regex_reason(&err)),
            );
            None
        }
    }
}

/// The one-line reason from the regex crate's multi-line message (which draws a caret
/// under the offending spot, unreadable inside a JSON string).
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// A default must be a value the field itself accepts; returns its stored form.
fn check_default(
    spec: &FieldSpec,
    pattern: Option<&Regex>,
    field: &mut FieldProblems<'_>,
) -> Option<Value> {
    let default = spec.default.as_ref()?;
    match check_value(spec, pattern, default) {
        Ok(normalised) => Some(normalised),
        Err(message) => {
            field.add("default", message);
            None
        }
    }
}

/// "int, float, list[int] and list[float]".
fn list_types(types: &[FieldType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::CompiledSchema;
    use super::super::test_support::{assert_invalid, compile, compiled, schema};
    use super::*;

    fn invalid(fields: Value, expected: Value) {
        assert_invalid(compile(fields), INVALID_SCHEMA, expected);
    }

    #[test]
    fn a_schema_using_every_type_and_constraint_compiles() {
        let s = compiled(json!([
            {"name": "title", "type": "string", "required": true, "min_length": 1, "max_length": 200, "pattern": "^\\S", "unique": true, "indexed": true},
            {"name": "body", "type": "text", "default": ""},
            {"name": "rating", "type": "int", "min": 0, "max": 5, "default": 3},
            {"name": "score", "type": "float", "min": -0.5, "max": 0.5},
            {"name": "published", "type": "boolean", "default": false},
            {"name": "at", "type": "datetime"},
            {"name": "day", "type": "date", "unique": true},
            {"name": "contact", "type": "email", "max_length": 100, "pattern": "@"},
            {"name": "site", "type": "url", "min_length": 10},
            {"name": "status", "type": "select", "values": ["draft", "published"], "default": "draft"},
            {"name": "meta", "type": "json", "default": {"a": 1}},
            {"name": "tags", "type": "list[string]", "max_length": 5, "pattern": "^[a-z]+$"},
            {"name": "counts", "type": "list[int]", "min": 0, "max": 10, "min_length": 1},
            {"name": "weights", "type": "list[float]", "max": 1.5},
            {"name": "author", "type": "relation", "collection": "users", "unique": true},
            {"name": "parent", "type": "relation", "collection": "posts"},
            {"name": "related", "type": "list[relation]", "collection": "posts", "max_length": 3, "on_delete": "set_null"},
        ]));
        assert_eq!(s.schema().fields.len(), 17);
        assert_eq!(
            s.relations().collect::<Vec<_>>(),
            [
                ("author", "users"),
                ("parent", "posts"),
                ("related", "posts")
            ]
        );
        assert_eq!(
            s.unique_fields().collect::<Vec<_>>(),
            ["title", "day", "author"]
        );
    }

    #[test]
    fn names_must_be_lower_snake_case_up_to_63_characters() {
        let format = "must start with a lower-case letter and hold only lower-case letters, digits and _ \
                      (at most 63 characters)";
        compiled(
            json!([{"name": "a", "type": "int"}, {"name": format!("a{}", "_9".repeat(31)), "type": "int"}]),
        );
        invalid(
            json!([
                {"name": "Title", "type": "string"},
                {"name": "1st", "type": "string"},
                {"name": "", "type": "string"},
                {"name": "a-b", "type": "string"},
                {"name": "é", "type": "string"},
                {"name": format!("a{}", "b".repeat(63)), "type": "string"},
            ]),
            json!({
                "schema.fields[0].name": format,
                "schema.fields[1].name": format,
                "schema.fields[2].name": format,
                "schema.fields[3].name": format,
                "schema.fields[4].name": format,
                "schema.fields[5].name": format,
            }),
        );
    }

    #[test]
    fn reserved_and_duplicate_names_are_refused() {
        invalid(
            json!([
                {"name": "id", "type": "string"},
                {"name": "title", "type": "string"},
                {"name": "created_at", "type": "datetime"},
                {"name": "title", "type": "text"},
                {"name": "title", "type": "int"},
            ]),
            json!({
                "schema.fields[0].name": "is reserved for a system field (reserved: id, collection, owner_id, created_at, updated_at)",
                "schema.fields[2].name": "is reserved for a system field (reserved: id, collection, owner_id, created_at, updated_at)",
                "schema.fields[3].name": "is already used by schema.fields[1]",
                "schema.fields[4].name": "is already used by schema.fields[1]",
            }),
        );
    }

    #[test]
    fn at_most_200_fields() {
        let fields = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
                    .collect(),
            )
        };
        compiled(fields(200));
        invalid(
            fields(201),
            json!({"schema.fields": "must have at most 200 fields (it has 201)"}),
        );
    }

    #[test]
    fn constraints_only_where_they_apply() {
        invalid(
            json!([
                {"name": "a", "type": "string", "min": 1, "max": 2},
                {"name": "b", "type": "int", "min_length": 1, "max_length": 2, "pattern": "x"},
                {"name": "c", "type": "select", "values": ["x"], "pattern": "x", "min_length": 1},
                {"name": "d", "type": "string", "values": ["x"], "collection": "posts"},
                {"name": "e", "type": "json", "unique": true},
                {"name": "f", "type": "list[string]", "unique": true, "min": 0},
                {"name": "g", "type": "boolean", "unique": true},
                {"name": "h", "type": "list[float]", "pattern": "x"},
            ]),
            json!({
                "schema.fields[0].min": "applies only to int, float, list[int] and list[float] fields",
                "schema.fields[0].max": "applies only to int, float, list[int] and list[float] fields",
                "schema.fields[1].min_length": "applies only to string, text, email, url, list[string], list[int], list[float], list[file] and list[relation] fields",
                "schema.fields[1].max_length": "applies only to string, text, email, url, list[string], list[int], list[float], list[file] and list[relation] fields",
                "schema.fields[1].pattern": "applies only to string, text, email, url and list[string] fields",
                "schema.fields[2].pattern": "applies only to string, text, email, url and list[string] fields",
                "schema.fields[2].min_length": "applies only to string, text, email, url, list[string], list[int], list[float], list[file] and list[relation] fields",
                "schema.fields[3].values": "applies only to select fields",
                "schema.fields[3].collection": "applies only to relation and list[relation] fields",
                "schema.fields[4].unique": "applies only to string, text, int, float, datetime, date, email, url, select and relation fields",
                "schema.fields[5].unique": "applies only to string, text, int, float, datetime, date, email, url, select and relation fields",
                "schema.fields[5].min": "applies only to int, float, list[int] and list[float] fields",
                "schema.fields[6].unique": "applies only to string, text, int, float, datetime, date, email, url, select and relation fields",
                "schema.fields[7].pattern": "applies only to string, text, email, url and list[string] fields",
            }),
        );
    }

    #[test]
    fn file_fields_take_size_and_types_but_no_default() {
        compiled(json!([
            {"name": "avatar", "type": "file", "required": true, "max_size": 1024, "mime_types": ["image/png", "image/*"]},
            {"name": "docs", "type": "list[file]", "max_length": 3, "min_length": 1},
        ]));
        invalid(
            json!([
                {"name": "a", "type": "file", "max_size": 0, "mime_types": []},
                {"name": "b", "type": "list[file]", "mime_types": ["png"], "default": []},
                {"name": "c", "type": "string", "max_size": 5, "mime_types": ["text/plain"]},
                {"name": "d", "type": "file", "unique": true, "max_length": 2},
            ]),
            json!({
                "schema.fields[0].max_size": "must be from 1 to 1099511627776 bytes",
                "schema.fields[0].mime_types": "must list at least one type",
                "schema.fields[1].mime_types": "\"png\" is not a content type like image/png or image/*",
                "schema.fields[1].default": "file fields take no default: their values come from uploads",
                "schema.fields[2].max_size": "applies only to file and list[file] fields",
                "schema.fields[2].mime_types": "applies only to file and list[file] fields",
                "schema.fields[3].unique": "applies only to string, text, int, float, datetime, date, email, url, select and relation fields",
                "schema.fields[3].max_length": "applies only to string, text, email, url, list[string], list[int], list[float], list[file] and list[relation] fields",
            }),
        );
    }

    #[test]
    fn select_values_are_required_non_empty_and_distinct() {
        compiled(json!([{"name": "s", "type": "select", "values": ["a", "b"]}]));
        invalid(
            json!([
                {"name": "a", "type": "select"},
                {"name": "b", "type": "select", "values": []},
                {"name": "c", "type": "select", "values": ["x", "y", "x"]},
            ]),
            json!({
                "schema.fields[0].values": "is required for select fields",
                "schema.fields[1].values": "must list at least one value",
                "schema.fields[2].values": "lists \"x\" more than once",
            }),
        );
    }

    #[test]
    fn relations_need_an_existing_target() {
        invalid(
            json!([
                {"name": "a", "type": "relation"},
                {"name": "b", "type": "relation", "collection": "nope"},
                {"name": "c", "type": "list[relation]"},
                {"name": "d", "type": "list[relation]", "collection": "nope"},
                {"name": "e", "type": "list[relation]", "collection": "posts", "min_length": 1, "on_delete": "set_null"},
                {"name": "f", "type": "list[relation]", "collection": "posts", "unique": true, "pattern": "x"},
            ]),
            json!({
                "schema.fields[0].collection": "is required for relation fields",
                "schema.fields[1].collection": "no collection is named \"nope\"",
                "schema.fields[2].collection": "is required for list[relation] fields",
                "schema.fields[3].collection": "no collection is named \"nope\"",
                "schema.fields[4].on_delete": "cannot be set_null with a min_length: removing an id could leave the list too short",
                "schema.fields[5].unique": "applies only to string, text, int, float, datetime, date, email, url, select and relation fields",
                "schema.fields[5].pattern": "applies only to string, text, email, url and list[string] fields",
            }),
        );
        // A required list may be set_null: removing an id leaves a (possibly empty) list.
        let required = schema(
            json!([{"name": "tags", "type": "list[relation]", "collection": "comments", "required": true, "on_delete": "set_null"}]),
        );
        assert!(CompiledSchema::compile(&required, &|name: &str| name == "comments").is_ok());
        // The caller lets a collection point at itself by answering yes for its own name.
        let own = schema(json!([{"name": "parent", "type": "relation", "collection": "comments"}]));
        let exists = |name: &str| name == "comments";
        assert!(CompiledSchema::compile(&own, &exists).is_ok());
    }

    #[test]
    fn bounds_must_be_ordered_and_whole_for_ints() {
        compiled(json!([{"name": "a", "type": "float", "min": 0.5, "max": 0.5}]));
        compiled(json!([{"name": "a", "type": "int", "min": 1, "max": 1.0}]));
        invalid(
            json!([
                {"name": "a", "type": "int", "min": 5, "max": 1},
                {"name": "b", "type": "string", "min_length": 3, "max_length": 2},
                {"name": "c", "type": "int", "min": 0.5, "max": 2.5},
                {"name": "d", "type": "list[int]", "max": 1.5},
                {"name": "e", "type": "list[string]", "min_length": 2, "max_length": 1},
            ]),
            json!({
                "schema.fields[0].min": "must not be greater than max (1)",
                "schema.fields[1].min_length": "must not be greater than max_length (2)",
                "schema.fields[2].min": "must be a whole number for int fields",
                "schema.fields[2].max": "must be a whole number for int fields",
                "schema.fields[3].max": "must be a whole number for list[int] fields",
                "schema.fields[4].min_length": "must not be greater than max_length (1)",
            }),
        );
    }

    #[test]
    fn bounds_must_be_finite() {
        let mut s = schema(json!([{"name": "a", "type": "float"}]));
        s.fields[0].max = Some(f64::INFINITY);
        assert_invalid(
            CompiledSchema::compile(&s, &|_| true),
            INVALID_SCHEMA,
            json!({"schema.fields[0].max": "must be a finite number"}),
        );
    }

    #[test]
    fn patterns_must_compile_within_limits() {
        invalid(
            json!([
                {"name": "a", "type": "string", "pattern": "(unclosed"},
                {"name": "b", "type": "string", "pattern": "x".repeat(1001)},
                {"name": "c", "type": "string", "pattern": "(\\w{100}){100}"},
                {"name": "d", "type": "string", "pattern": "x".repeat(1000)},
            ]),
            json!({
                "schema.fields[0].pattern": "is not a valid regular expression: unclosed group",
                "schema.fields[1].pattern": "must be at most 1000 characters",
                "schema.fields[2].pattern": "is too complex: its compiled form is too large",
            }),
        );
    }

    #[test]
    fn defaults_must_obey_their_own_field() {
        invalid(
            json!([
                {"name": "a", "type": "string", "max_length": 3, "default": "toolong"},
                {"name": "b", "type": "int", "default": 2.5},
                {"name": "c", "type": "select", "values": ["x"], "default": "y"},
                {"name": "d", "type": "string", "pattern": "^a", "default": "b"},
                {"name": "e", "type": "list[int]", "max": 3, "default": [1, 5]},
                {"name": "f", "type": "datetime", "default": "tomorrow"},
            ]),
            json!({
                "schema.fields[0].default": "must be at most 3 characters",
                "schema.fields[1].default": "must be an integer",
                "schema.fields[2].default": "must be one of: x",
                "schema.fields[3].default": "must match the pattern ^a",
                "schema.fields[4].default": "element 1 must be at most 3",
                "schema.fields[5].default": "must be a date and time in RFC 3339 form with an offset, like 2026-01-31T12:00:00Z",
            }),
        );
    }

    #[test]
    fn a_default_is_not_judged_against_a_broken_field() {
        // The pattern is the problem; a "default does not match" message would mislead.
        invalid(
            json!([{"name": "a", "type": "string", "pattern": "(", "default": "x"}]),
            json!({"schema.fields[0].pattern": "is not a valid regular expression: unclosed group"}),
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        invalid(
            json!([
                {"name": "ok", "type": "string"},
                {"name": "Bad", "type": "int", "pattern": "x"},
                {"name": "ok", "type": "select"},
                {"name": "r", "type": "relation", "collection": "ghosts", "default": "x"},
                {"name": "n", "type": "int", "min": 3, "max": 1, "default": 2},
            ]),
            json!({
                "schema.fields[1].name": "must start with a lower-case letter and hold only lower-case letters, digits and _ (at most 63 characters)",
                "schema.fields[1].pattern": "applies only to string, text, email, url and list[string] fields",
                "schema.fields[2].name": "is already used by schema.fields[0]",
                "schema.fields[2].values": "is required for select fields",
                "schema.fields[3].collection": "no collection is named \"ghosts\"",
                "schema.fields[4].min": "must not be greater than max (1)",
            }),
        );
    }
}
