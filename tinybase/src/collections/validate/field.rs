//! Checking one non-null value against its field: type, then constraints, then the
//! normalised form to store. Used for record values and for schema defaults alike, so a
//! default obeys exactly the rules a client's value does.

use regex::Regex;
use serde_json::Value;

use super::formats;
use crate::collections::schema::{FieldSpec, FieldType};
use crate::storage::names::is_stored_name;
use crate::text::check_email;

/// Shown for an `int` (or `list[int]` element) that is a whole number outside `i64`.
pub(super) const INT_RANGE_MESSAGE: &str =
    "must be a whole number between -9223372036854775808 and 9223372036854775807";

/// 2^63: the first whole `f64` above `i64::MAX` (and the magnitude of `i64::MIN`).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Checks `value` (never null: the caller has already treated null as "no value") against
/// `spec`, using its compiled `pattern`. Returns the form to store, or the message to show.
pub(super) fn check_value(
    spec: &FieldSpec,
    pattern: Option<&Regex>,
    value: &Value,
) -> Result<Value, String> {
    match spec.field_type {
        FieldType::String | FieldType::Text => {
            let text = value.as_str().ok_or("must be a string")?;
            check_text(spec, pattern, text)?;
            Ok(value.clone())
        }
        FieldType::Int => {
            let number = check_int(value)?;
            // i64 → f64 may round past 2^53; bounds are f64 too, so that is the best we have.
            check_range(spec, number as f64)?;
            Ok(value.clone())
        }
        FieldType::Float => {
            check_range(spec, check_number(value)?)?;
            Ok(value.clone())
        }
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err("must be true or false".to_owned()),
        },
        FieldType::Datetime => {
            let text = value.as_str().ok_or(formats::DATETIME_MESSAGE)?;
            Ok(Value::String(formats::normalize_datetime(text)?))
        }
        FieldType::Date => {
            let text = value.as_str().ok_or(formats::DATE_MESSAGE)?;
            formats::check_date(text)?;
            Ok(value.clone())
        }
        FieldType::Email => {
            const MESSAGE: &str = "must be an email address like name@example.com";
            // Stored trimmed but with its case: unlike login emails, nothing here compares
            // addresses case-insensitively, so the client's spelling is kept.
            let text = value.as_str().ok_or(MESSAGE)?.trim();
            if let Some(message) = check_email(text) {
                return Err(message.to_owned());
            }
            check_text(spec, pattern, text)?;
            Ok(Value::String(text.to_owned()))
        }
        FieldType::Url => {
            let text = value.as_str().ok_or(formats::URL_MESSAGE)?;
            formats::check_url(text)?;
            check_text(spec, pattern, text)?;
            Ok(value.clone())
        }
        FieldType::Select => {
            let values = spec.values.as_deref().unwrap_or_default();
            match value.as_str() {
                Some(text) if values.iter().any(|v| v == text) => Ok(value.clone()),
                _ => Err(format!("must be one of: {}", values.join(", "))),
            }
        }
        FieldType::Json => Ok(value.clone()),
        FieldType::ListString => check_list(spec, value, "must be a list of strings", |item| {
            let text = item.as_str().ok_or("must be a string")?;
            check_pattern(pattern, text)
        }),
        FieldType::ListInt => check_list(spec, value, "must be a list of integers", |item| {
            check_range(spec, check_int(item)? as f64)
        }),
        FieldType::ListFloat => check_list(spec, value, "must be a list of numbers", |item| {
            check_range(spec, check_number(item)?)
        }),
        FieldType::Relation => {
            let text = value.as_str().ok_or(formats::RECORD_ID_MESSAGE)?;
            Ok(Value::String(formats::normalize_record_id(text)?))
        }
        FieldType::File => {
            check_file_name(value)?;
            Ok(value.clone())
        }
        FieldType::ListFile => {
            check_list(spec, value, "must be a list of file names", check_file_name)
        }
        FieldType::ListRelation => check_relation_list(spec, value),
    }
}

/// A `list[relation]`: its length, then each element a record id, stored normalised, and
/// no id twice (a record is either related or not; a repeat is a client's mistake).
fn check_relation_list(spec: &FieldSpec, value: &Value) -> Result<Value, String> {
    check_list(spec, value, LIST_RELATION_MESSAGE, |item| {
        item.as_str()
            .map(|_| ())
            .ok_or_else(|| formats::RECORD_ID_MESSAGE.to_owned())
    })?;
    let items = value.as_array().ok_or(LIST_RELATION_MESSAGE)?;
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let text = item.as_str().unwrap_or_default();
        let id = formats::normalize_record_id(text)
            .map_err(|message| format!("element {index} {message}"))?;
        if let Some(first) = ids.iter().position(|seen| *seen == id) {
            return Err(format!("element {index} repeats element {first}"));
        }
        ids.push(id);
    }
    Ok(Value::Array(ids.into_iter().map(Value::String).collect()))
}

/// Shown for a `list[relation]` value that is not an array.
const LIST_RELATION_MESSAGE: &str = "must be a list of record ids";

/// The name of a stored file (see `storage::names`). Whether the record holds that file is
/// for the record service to check.
fn check_file_name(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(name) if is_stored_name(name) => Ok(()),
        _ => Err("must be the name of a file of this record".to_owned()),
    }
}

/// An integer written as one. `3.0` is rejected like `3.5`: a JSON number with a fraction
/// or exponent is a float to every client and to SQLite, and an int field stores ints only.
fn check_int(value: &Value) -> Result<i64, String> {
    let Value::Number(number) = value else {
        return Err("must be an integer".to_owned());
    };
    if let Some(int) = number.as_i64() {
        return Ok(int);
    }
    // What is left: a positive integer above i64::MAX, or a float. A whole float of 2^63 or
    // more in size is also what an out-of-range integer literal parses to, so it gets the
    // range message; every other float (3.0 included) is simply not an integer.
    let too_big = number.is_u64()
        || number
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.abs() >= TWO_POW_63);
    Err(if too_big {
        INT_RANGE_MESSAGE
    } else {
        "must be an integer"
    }
    .to_owned())
}

/// Any JSON number. serde_json numbers are always finite, but a value built in Rust could
/// still reach here, so finiteness is checked rather than assumed.
fn check_number(value: &Value) -> Result<f64, String> {
    match value.as_f64() {
        Some(number) if number.is_finite() => Ok(number),
        _ => Err("must be a number".to_owned()),
    }
}

fn check_range(spec: &FieldSpec, number: f64) -> Result<(), String> {
    if let Some(min) = spec.min.filter(|min| number < *min) {
        return Err(format!("must be at least {min}"));
    }
    if let Some(max) = spec.max.filter(|max| number > *max) {
        return Err(format!("must be at most {max}"));
    }
    Ok(())
}

/// Length (in characters, not bytes) and pattern of a string value.
fn check_text(spec: &FieldSpec, pattern: Option<&Regex>, text: &str) -> Result<(), String> {
    let chars = text.chars().count() as u64;
    if let Some(min) = spec.min_length.filter(|min| chars < *min) {
        return Err(format!("must be at least {}", count(min, "character")));
    }
    if let Some(max) = spec.max_length.filter(|max| chars > *max) {
        return Err(format!("must be at most {}", count(max, "character")));
    }
    check_pattern(pattern, text)
}

fn check_pattern(pattern: Option<&Regex>, text: &str) -> Result<(), String> {
    match pattern {
        Some(re) if !re.is_match(text) => Err(format!("must match the pattern {}", re.as_str())),
        _ => Ok(()),
    }
}

/// A list: its length against min/max_length, then each element with `check_item`.
/// Elements are stored as given, so only the first bad one is reported, by index.
fn check_list(
    spec: &FieldSpec,
    value: &Value,
    type_message: &str,
    check_item: impl Fn(&Value) -> Result<(), String>,
) -> Result<Value, String> {
    let items = value.as_array().ok_or(type_message)?;
    let len = items.len() as u64;
    if let Some(min) = spec.min_length.filter(|min| len < *min) {
        return Err(format!("must have at least {}", count(min, "element")));
    }
    if let Some(max) = spec.max_length.filter(|max| len > *max) {
        return Err(format!("must have at most {}", count(max, "element")));
    }
    for (index, item) in items.iter().enumerate() {
        check_item(item).map_err(|message| format!("element {index} {message}"))?;
    }
    Ok(value.clone())
}

/// "1 character", "2 characters".
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(field_type: FieldType) -> FieldSpec {
        FieldSpec {
            name: "f".to_owned(),
            field_type,
            required: false,
            default: None,
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            pattern: None,
            unique: false,
            indexed: false,
            values: None,
            collection: None,
            max_size: None,
            mime_types: None,
            on_delete: None,
            searchable: false,
        }
    }

    fn check(spec: &FieldSpec, value: Value) -> Result<Value, String> {
        let pattern = spec
            .pattern
            .as_deref()
            .map(|p| Regex::new(p).expect("test pattern"));
        check_value(spec, pattern.as_ref(), &value)
    }

    fn ok(spec: &FieldSpec, value: Value) {
        assert_eq!(check(spec, value.clone()), Ok(value));
    }

    fn bad(spec: &FieldSpec, value: Value, message: &str) {
        assert_eq!(
            check(spec, value).as_ref().map_err(String::as_str),
            Err(message)
        );
    }

    #[test]
    fn string_and_text_take_strings() {
        for t in [FieldType::String, FieldType::Text] {
            ok(&spec(t), json!("hello"));
            ok(&spec(t), json!(""));
            bad(&spec(t), json!(5), "must be a string");
            bad(&spec(t), json!(["a"]), "must be a string");
        }
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let s = FieldSpec {
            max_length: Some(4),
            min_length: Some(2),
            ..spec(FieldType::String)
        };
        ok(&s, json!("éééé"));
        bad(&s, json!("ééééé"), "must be at most 4 characters");
        bad(&s, json!("é"), "must be at least 2 characters");
        let one = FieldSpec {
            max_length: Some(1),
            ..spec(FieldType::Text)
        };
        bad(&one, json!("ab"), "must be at most 1 character");
    }

    #[test]
    fn patterns_are_searched_not_anchored() {
        let s = FieldSpec {
            pattern: Some("b+".to_owned()),
            ..spec(FieldType::String)
        };
        ok(&s, json!("abbc"));
        bad(&s, json!("ac"), "must match the pattern b+");
        let anchored = FieldSpec {
            pattern: Some("^b+$".to_owned()),
            ..spec(FieldType::Text)
        };
        ok(&anchored, json!("bb"));
        bad(&anchored, json!("abbc"), "must match the pattern ^b+$");
    }

    #[test]
    fn int_takes_json_integers_only() {
        let s = spec(FieldType::Int);
        ok(&s, json!(3));
        ok(&s, json!(-3));
        ok(&s, json!(i64::MAX));
        ok(&s, json!(i64::MIN));
        // 3.0 is a float in JSON: rejected on purpose, like 3.5.
        bad(&s, json!(3.0), "must be an integer");
        bad(&s, json!(3.5), "must be an integer");
        bad(&s, json!("3"), "must be an integer");
        bad(&s, json!(true), "must be an integer");
        bad(&s, json!(u64::MAX), INT_RANGE_MESSAGE);
        bad(&s, json!(i64::MAX as u64 + 1), INT_RANGE_MESSAGE);
        bad(&s, json!(1e20), INT_RANGE_MESSAGE);
        bad(&s, json!(-1e20), INT_RANGE_MESSAGE);
    }

    #[test]
    fn out_of_range_integer_literals_get_the_range_message() {
        let s = spec(FieldType::Int);
        for literal in [
            "9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234",
        ] {
            let value: Value = serde_json::from_str(literal).expect("a JSON number");
            bad(&s, value, INT_RANGE_MESSAGE);
        }
    }

    #[test]
    fn int_min_max() {
        let s = FieldSpec {
            min: Some(1.0),
            max: Some(5.0),
            ..spec(FieldType::Int)
        };
        ok(&s, json!(1));
        ok(&s, json!(5));
        bad(&s, json!(0), "must be at least 1");
        bad(&s, json!(6), "must be at most 5");
    }

    #[test]
    fn float_takes_any_number() {
        let s = FieldSpec {
            min: Some(-0.5),
            max: Some(2.5),
            ..spec(FieldType::Float)
        };
        ok(&s, json!(1.25));
        ok(&s, json!(2));
        ok(&s, json!(-0.5));
        bad(&s, json!(-0.75), "must be at least -0.5");
        bad(&s, json!(2.75), "must be at most 2.5");
        bad(&s, json!("1.5"), "must be a number");
        bad(&s, json!(null), "must be a number");
    }

    #[test]
    fn boolean_takes_true_or_false() {
        let s = spec(FieldType::Boolean);
        ok(&s, json!(true));
        ok(&s, json!(false));
        bad(&s, json!(1), "must be true or false");
        bad(&s, json!("true"), "must be true or false");
    }

    #[test]
    fn datetime_is_stored_in_utc() {
        let s = spec(FieldType::Datetime);
        assert_eq!(
            check(&s, json!("2026-01-01T01:00:00+01:00")),
            Ok(json!("2026-01-01T00:00:00.000000Z"))
        );
        bad(&s, json!("2026-01-01 01:00"), formats::DATETIME_MESSAGE);
        bad(&s, json!(1_767_225_600), formats::DATETIME_MESSAGE);
    }

    #[test]
    fn date_takes_real_days() {
        let s = spec(FieldType::Date);
        ok(&s, json!("2026-02-28"));
        bad(&s, json!("2026-02-30"), "must be a real calendar date");
        bad(&s, json!("28/02/2026"), formats::DATE_MESSAGE);
        bad(&s, json!(20_260_228), formats::DATE_MESSAGE);
    }

    #[test]
    fn email_is_trimmed_and_keeps_its_case() {
        let s = spec(FieldType::Email);
        assert_eq!(
            check(&s, json!("  Ann@Example.com ")),
            Ok(json!("Ann@Example.com"))
        );
        bad(
            &s,
            json!("ann"),
            "must be an email address like name@example.com",
        );
        bad(
            &s,
            json!("ann@example"),
            "must be an email address like name@example.com",
        );
        bad(
            &s,
            json!(7),
            "must be an email address like name@example.com",
        );
    }

    #[test]
    fn email_constraints_apply_to_the_trimmed_address() {
        let s = FieldSpec {
            max_length: Some(9),
            pattern: Some("@corp\\.io$".to_owned()),
            ..spec(FieldType::Email)
        };
        ok(&s, json!("a@corp.io"));
        assert_eq!(check(&s, json!("  a@corp.io  ")), Ok(json!("a@corp.io")));
        bad(&s, json!("ab@corp.io"), "must be at most 9 characters");
        bad(&s, json!("a@corp.eu"), "must match the pattern @corp\\.io$");
    }

    #[test]
    fn url_takes_absolute_http_urls() {
        let s = FieldSpec {
            max_length: Some(30),
            ..spec(FieldType::Url)
        };
        ok(&s, json!("https://example.com/x"));
        bad(&s, json!("example.com"), formats::URL_MESSAGE);
        bad(
            &s,
            json!("https://example.com/a-very-long-path"),
            "must be at most 30 characters",
        );
        bad(&s, json!(false), formats::URL_MESSAGE);
    }

    #[test]
    fn select_takes_one_of_its_values() {
        let s = FieldSpec {
            values: Some(vec!["draft".to_owned(), "published".to_owned()]),
            ..spec(FieldType::Select)
        };
        ok(&s, json!("draft"));
        bad(&s, json!("Draft"), "must be one of: draft, published");
        bad(&s, json!(["draft"]), "must be one of: draft, published");
    }

    #[test]
    fn json_takes_anything() {
        let s = spec(FieldType::Json);
        ok(&s, json!({"a": [1, null, {"b": "c"}]}));
        ok(&s, json!([]));
        ok(&s, json!("text"));
        ok(&s, json!(0));
    }

    #[test]
    fn list_string_checks_elements_and_count() {
        let s = FieldSpec {
            min_length: Some(1),
            max_length: Some(3),
            pattern: Some("^[a-z]+$".to_owned()),
            ..spec(FieldType::ListString)
        };
        ok(&s, json!(["a", "bc"]));
        bad(&s, json!("a"), "must be a list of strings");
        bad(&s, json!([]), "must have at least 1 element");
        bad(
            &s,
            json!(["a", "b", "c", "d"]),
            "must have at most 3 elements",
        );
        bad(&s, json!(["a", "b", 3]), "element 2 must be a string");
        bad(
            &s,
            json!(["a", "B1"]),
            "element 1 must match the pattern ^[a-z]+$",
        );
    }

    #[test]
    fn list_int_checks_each_element_is_an_int_in_range() {
        let s = FieldSpec {
            min: Some(0.0),
            max: Some(10.0),
            ..spec(FieldType::ListInt)
        };
        ok(&s, json!([0, 10, 5]));
        ok(&s, json!([]));
        bad(&s, json!({"0": 1}), "must be a list of integers");
        bad(&s, json!([1, 2, 3.5]), "element 2 must be an integer");
        bad(&s, json!([1, 2.0]), "element 1 must be an integer");
        bad(&s, json!([11]), "element 0 must be at most 10");
        bad(&s, json!([1, -1]), "element 1 must be at least 0");
        bad(
            &s,
            json!([u64::MAX]),
            &format!("element 0 {INT_RANGE_MESSAGE}"),
        );
    }

    #[test]
    fn list_float_checks_each_element_is_a_number() {
        let s = FieldSpec {
            max: Some(1.5),
            max_length: Some(2),
            ..spec(FieldType::ListFloat)
        };
        ok(&s, json!([1, 1.5]));
        bad(&s, json!([1, "2"]), "element 1 must be a number");
        bad(&s, json!([1.6]), "element 0 must be at most 1.5");
        bad(&s, json!([1, 1, 1]), "must have at most 2 elements");
        bad(&s, json!(1.5), "must be a list of numbers");
    }

    #[test]
    fn relation_takes_a_record_id() {
        let s = spec(FieldType::Relation);
        ok(&s, json!("0190f1a2-3b4c-7d8e-9f00-112233445566"));
        assert_eq!(
            check(&s, json!("0190F1A2-3B4C-7D8E-9F00-112233445566")),
            Ok(json!("0190f1a2-3b4c-7d8e-9f00-112233445566"))
        );
        bad(&s, json!("post-1"), formats::RECORD_ID_MESSAGE);
        bad(&s, json!(12), formats::RECORD_ID_MESSAGE);
    }

    #[test]
    fn relation_list_takes_distinct_record_ids() {
        let s = FieldSpec {
            max_length: Some(2),
            ..spec(FieldType::ListRelation)
        };
        let a = "0190f1a2-3b4c-7d8e-9f00-112233445566";
        let b = "0190f1a2-3b4c-7d8e-9f00-112233445577";
        ok(&s, json!([]));
        ok(&s, json!([a, b]));
        assert_eq!(
            check(&s, json!([b, a.to_uppercase()])),
            Ok(json!([b, a])),
            "ids are stored lower-case, in the order given"
        );
        bad(
            &s,
            json!([a, a.to_uppercase()]),
            "element 1 repeats element 0",
        );
        bad(
            &s,
            json!([a, "x"]),
            &format!("element 1 {}", formats::RECORD_ID_MESSAGE),
        );
        bad(
            &s,
            json!([a, 7]),
            &format!("element 1 {}", formats::RECORD_ID_MESSAGE),
        );
        bad(&s, json!([a, b, a]), "must have at most 2 elements");
        bad(&s, json!(a), "must be a list of record ids");
        bad(&s, json!({"id": a}), "must be a list of record ids");
    }
}
