//! Tests of the public schedule API: serde, validation and next runs, with exact instants.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{IntervalUnit, ScheduleConfig};

mod cron;
mod dst;
mod interval_once;
mod json;
mod proptests;
mod validate;

/// An instant from RFC 3339 text.
fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A cron schedule in a time zone.
fn cron(line: &str, timezone: &str) -> ScheduleConfig {
    ScheduleConfig::Cron {
        cron: line.to_owned(),
        timezone: timezone.to_owned(),
        description: None,
    }
}

/// An interval schedule in a time zone.
fn interval(unit: IntervalUnit, value: u64, timezone: &str) -> ScheduleConfig {
    ScheduleConfig::Interval {
        unit,
        value,
        timezone: timezone.to_owned(),
    }
}

/// A once-schedule.
fn once(date: &str, time: &str, timezone: &str) -> ScheduleConfig {
    ScheduleConfig::Once {
        date: date.to_owned(),
        time: time.to_owned(),
        timezone: timezone.to_owned(),
    }
}

/// The next `count` runs after `from`, each computed from the previous, as UTC text.
fn runs(config: &ScheduleConfig, from: &str, count: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = at(from);
    for _ in 0..count {
        let Some(next) = config.next_run_after(last) else {
            break;
        };
        out.push(next.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        last = next;
    }
    out
}

/// The next run after `from` as UTC text, or `None`.
fn next(config: &ScheduleConfig, from: &str) -> Option<String> {
    runs(config, from, 1).pop()
}

/// The per-field messages of a failed validation.
fn problems(config: &ScheduleConfig) -> BTreeMap<String, String> {
    let err = config.validate().unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Validation);
    assert_eq!(err.message(), "the schedule is not valid");
    serde_json::from_value(err.details().unwrap()["fields"].clone()).unwrap()
}
