//! Property tests: arbitrary JSON never panics the validator, and whatever it accepts it
//! accepts again unchanged (normalisation is idempotent), so stored data always re-validates.

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

use super::CompiledSchema;
use super::test_support::compiled;

/// One field of every type, all optional, with constraints and defaults to exercise.
fn schema() -> CompiledSchema {
    compiled(json!([
        {"name": "s", "type": "string", "max_length": 5, "pattern": "^[a-zé]*$", "default": "é"},
        {"name": "t", "type": "text", "min_length": 1},
        {"name": "i", "type": "int", "min": -10, "max": 10, "default": 0},
        {"name": "f", "type": "float", "max": 100.5},
        {"name": "b", "type": "boolean", "default": false},
        {"name": "dt", "type": "datetime", "default": "2026-01-01T01:00:00+01:00"},
        {"name": "d", "type": "date"},
        {"name": "e", "type": "email", "default": " Ann@Example.com "},
        {"name": "u", "type": "url"},
        {"name": "sel", "type": "select", "values": ["draft", "published"], "default": "draft"},
        {"name": "j", "type": "json"},
        {"name": "ls", "type": "list[string]", "max_length": 3, "pattern": "^[a-z]+$"},
        {"name": "li", "type": "list[int]", "min": 0},
        {"name": "lf", "type": "list[float]"},
        {"name": "r", "type": "relation", "collection": "posts", "default": "0190F1A2-3B4C-7D8E-9F00-112233445566"},
    ]))
}

/// Values each field accepts, in canonical and in normalisable forms.
fn valid(field: &str) -> Vec<Value> {
    match field {
        "s" => vec![json!("abc"), json!("éééé"), json!("")],
        "t" => vec![json!("x"), json!("long text")],
        "i" => vec![json!(3), json!(-10), json!(10)],
        "f" => vec![json!(1.5), json!(2), json!(-1e300)],
        "b" => vec![json!(true), json!(false)],
        "dt" => vec![
            json!("2026-01-01T01:00:00+01:00"),
            json!("2026-01-01T00:00:00.000000Z"),
        ],
        "d" => vec![json!("2026-02-28"), json!("2024-02-29")],
        "e" => vec![json!(" A@B.co "), json!("a@b.co")],
        "u" => vec![json!("https://example.com/x"), json!("HTTP://[::1]:80")],
        "sel" => vec![json!("draft"), json!("published")],
        "j" => vec![json!({"a": [1, null]}), json!([]), json!(null)],
        "ls" => vec![json!(["a", "b"]), json!([])],
        "li" => vec![json!([0, 5]), json!([])],
        "lf" => vec![json!([0.5, 1])],
        "r" => vec![
            json!("0190F1A2-3B4C-7D8E-9F00-112233445566"),
            json!("0190f1a2-3b4c-7d8e-9f00-112233445566"),
        ],
        _ => vec![],
    }
}

/// Values just outside each field's rules.
fn invalid(field: &str) -> Vec<Value> {
    match field {
        "s" => vec![json!("ABC"), json!("toolong")],
        "t" => vec![json!("")],
        "i" => vec![json!(11), json!(3.0)],
        "f" => vec![json!(100.6), json!("1")],
        "b" => vec![json!("true")],
        "dt" => vec![json!("2026-01-01")],
        "d" => vec![json!("2026-02-30")],
        "e" => vec![json!("nope")],
        "u" => vec![json!("example.com")],
        "sel" => vec![json!("gone")],
        "j" => vec![],
        "ls" => vec![json!(["a", "B"]), json!(["a", "b", "c", "d"])],
        "li" => vec![json!([-1]), json!([1.0])],
        "lf" => vec![json!(["x"])],
        "r" => vec![json!("x")],
        _ => vec![],
    }
}

/// Any JSON value, nested at most four levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,3}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Record data: each schema field absent, null, a valid or invalid value or anything at
/// all, plus now and then a key the schema does not have. Valid values dominate so that a
/// good share of records pass and the properties are tested on the success path too.
fn record_data() -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<String> = schema()
        .schema()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let per_field: Vec<BoxedStrategy<Option<Value>>> = names
        .iter()
        .map(|name| {
            // `select` needs a non-empty list; every value is valid for `json`.
            let mut bad = invalid(name);
            if bad.is_empty() {
                bad.push(Value::Null);
            }
            prop_oneof![
                3 => Just(None),
                1 => Just(Some(Value::Null)),
                24 => prop::sample::select(valid(name)).prop_map(Some),
                1 => prop::sample::select(bad).prop_map(Some),
                1 => any_json().prop_map(Some),
            ]
            .boxed()
        })
        .collect();
    let extra = prop::option::weighted(0.05, ("[a-z_]{1,4}", any_json()));
    (per_field, extra).prop_map(move |(values, extra)| {
        let mut data: Map<String, Value> = names
            .iter()
            .zip(values)
            .filter_map(|(name, value)| Some((name.clone(), value?)))
            .collect();
        if let Some((key, value)) = extra {
            data.insert(key, value);
        }
        data
    })
}

/// Stored data holds only schema fields, never a null, and re-validates to itself whether
/// it is created again or patched with nothing.
fn assert_stable(
    schema: &CompiledSchema,
    stored: &Map<String, Value>,
) -> Result<(), TestCaseError> {
    for (key, value) in stored {
        prop_assert!(
            schema.schema().field(key).is_some(),
            "stored unknown key {key}"
        );
        prop_assert!(!value.is_null(), "stored a null for {key}");
    }
    prop_assert_eq!(
        schema.validate_patch(stored, &Map::new()).ok(),
        Some(stored.clone())
    );
    prop_assert_eq!(
        schema.validate_patch(&Map::new(), stored).ok(),
        Some(stored.clone())
    );
    Ok(())
}

proptest! {
    #[test]
    fn validate_new_never_panics_and_is_idempotent(data in record_data()) {
        let schema = schema();
        if let Ok(stored) = schema.validate_new(&data) {
            // Every field has a default or is optional, so create-again adds nothing new.
            prop_assert_eq!(schema.validate_new(&stored).ok(), Some(stored.clone()));
            assert_stable(&schema, &stored)?;
        }
    }

    #[test]
    fn validate_new_survives_any_object(data in prop::collection::btree_map("[a-z]{1,3}", any_json(), 0..8)) {
        let schema = schema();
        let data: Map<String, Value> = data.into_iter().collect();
        if let Ok(stored) = schema.validate_new(&data) {
            assert_stable(&schema, &stored)?;
        }
    }

    #[test]
    fn validate_patch_never_panics_and_is_idempotent(existing in record_data(), patch in record_data()) {
        let schema = schema();
        if let Ok(stored) = schema.validate_patch(&existing, &patch) {
            assert_stable(&schema, &stored)?;
        }
    }
}

#[test]
fn the_samples_are_what_they_claim() {
    // Guards the properties above from testing only the error path (and the error path
    // only with values that happen to be valid).
    let schema = schema();
    for field in &schema.schema().fields {
        for value in valid(&field.name) {
            let data: Map<String, Value> =
                [(field.name.clone(), value.clone())].into_iter().collect();
            assert!(
                schema.validate_new(&data).is_ok(),
                "{} = {value}",
                field.name
            );
        }
        for value in invalid(&field.name) {
            let data: Map<String, Value> =
                [(field.name.clone(), value.clone())].into_iter().collect();
            assert!(
                schema.validate_new(&data).is_err(),
                "{} = {value}",
                field.name
            );
        }
    }
}
