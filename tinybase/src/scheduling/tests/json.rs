//! The JSON form: a `method` tag, defaults, and refusal of anything unknown.

use serde_json::{Value, json};

use super::*;

fn parse(value: Value) -> Result<ScheduleConfig, String> {
    serde_json::from_value(value).map_err(|err| err.to_string())
}

#[test]
fn each_method_round_trips() {
    let cases = [
        (
            json!({"method": "once", "date": "2026-12-24", "time": "18:00", "timezone": "Europe/Berlin"}),
            once("2026-12-24", "18:00", "Europe/Berlin"),
        ),
        (
            json!({"method": "interval", "unit": "minutes", "value": 15, "timezone": "UTC"}),
            interval(IntervalUnit::Minutes, 15, "UTC"),
        ),
        (
            json!({"method": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "description": "nightly"}),
            ScheduleConfig::Cron {
                cron: "0 3 * * *".to_owned(),
                timezone: "Europe/Berlin".to_owned(),
                description: Some("nightly".to_owned()),
            },
        ),
        (
            json!({"method": "cron", "cron": "*/5 * * * *", "timezone": "UTC"}),
            cron("*/5 * * * *", "UTC"),
        ),
    ];
    for (value, config) in cases {
        assert_eq!(parse(value.clone()), Ok(config.clone()));
        assert_eq!(serde_json::to_value(&config).unwrap(), value);
    }
}

#[test]
fn every_unit_has_a_lowercase_name() {
    for (name, unit) in [
        ("seconds", IntervalUnit::Seconds),
        ("minutes", IntervalUnit::Minutes),
        ("hours", IntervalUnit::Hours),
        ("days", IntervalUnit::Days),
    ] {
        assert_eq!(serde_json::to_value(unit).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<IntervalUnit>(json!(name)).unwrap(),
            unit
        );
    }
}

#[test]
fn time_zone_defaults_to_utc() {
    let config = parse(json!({"method": "interval", "unit": "days", "value": 1})).unwrap();
    assert_eq!(config, interval(IntervalUnit::Days, 1, "UTC"));
    assert_eq!(config.timezone(), "UTC");
    let config = parse(json!({"method": "once", "date": "2026-12-24", "time": "18:00"})).unwrap();
    assert_eq!(config.timezone(), "UTC");
    let config = parse(json!({"method": "cron", "cron": "0 3 * * *"})).unwrap();
    assert_eq!(config, cron("0 3 * * *", "UTC"));
}

#[test]
fn unknown_fields_are_refused() {
    let err = parse(json!({"method": "once", "date": "2026-12-24", "time": "18:00", "extra": 1}));
    assert!(err.unwrap_err().contains("unknown field `extra`"));
    // A field of another method is unknown too.
    let err =
        parse(json!({"method": "once", "date": "2026-12-24", "time": "18:00", "description": "x"}));
    assert!(err.unwrap_err().contains("unknown field `description`"));
    let err = parse(json!({"method": "interval", "unit": "days", "value": 1, "cron": "* * * * *"}));
    assert!(err.unwrap_err().contains("unknown field `cron`"));
}

#[test]
fn unknown_or_missing_method_is_refused() {
    let err = parse(json!({"method": "weekly", "timezone": "UTC"})).unwrap_err();
    assert!(err.contains("unknown variant `weekly`"), "{err}");
    let err = parse(json!({"method": "Once", "date": "2026-12-24", "time": "18:00"})).unwrap_err();
    assert!(err.contains("unknown variant `Once`"), "{err}");
    let err = parse(json!({"date": "2026-12-24", "time": "18:00"})).unwrap_err();
    assert!(err.contains("missing field `method`"), "{err}");
}

#[test]
fn unknown_unit_and_bad_values_are_refused() {
    let err = parse(json!({"method": "interval", "unit": "weeks", "value": 1})).unwrap_err();
    assert!(err.contains("unknown variant `weeks`"), "{err}");
    assert!(parse(json!({"method": "interval", "unit": "days", "value": -1})).is_err());
    assert!(parse(json!({"method": "interval", "unit": "days", "value": 1.5})).is_err());
    assert!(parse(json!({"method": "interval", "unit": "days"})).is_err());
    assert!(parse(json!({"method": "cron", "cron": 5})).is_err());
}

#[test]
fn json_schema_names_every_method_and_closes_each() {
    let schema = serde_json::to_value(schemars::schema_for!(ScheduleConfig)).unwrap();
    let variants = schema["oneOf"].as_array().unwrap();
    let methods: Vec<&Value> = variants
        .iter()
        .map(|variant| &variant["properties"]["method"]["const"])
        .collect();
    assert_eq!(
        methods,
        [&json!("once"), &json!("interval"), &json!("cron")]
    );
    for variant in variants {
        assert_eq!(variant["additionalProperties"], json!(false), "{variant}");
    }
    assert_eq!(
        variants[0]["properties"]["timezone"]["default"],
        json!("UTC")
    );
}
