//! `validate()`: every problem reported at once, under `schedule.*` keys.

use super::*;

#[test]
fn good_schedules_pass() {
    let good = [
        once("2026-12-24", "18:00", "Europe/Berlin"),
        once("2026-12-24", "18:00:30", "UTC"),
        interval(IntervalUnit::Seconds, 1, "UTC"),
        interval(IntervalUnit::Seconds, 31_622_400, "UTC"),
        interval(IntervalUnit::Minutes, 527_040, "Asia/Kolkata"),
        interval(IntervalUnit::Hours, 8_784, "UTC"),
        interval(IntervalUnit::Days, 366, "America/New_York"),
        cron("0 3 * * *", "Europe/Berlin"),
        cron("0 0 3 * * *", "UTC"),
        cron("0 0 12 1 1 * 2027", "UTC"),
        cron("0 9 * * mon-fri", "UTC"),
        cron("@daily", "UTC"),
        ScheduleConfig::Cron {
            cron: "0 3 * * *".to_owned(),
            timezone: "UTC".to_owned(),
            // Characters are counted, not bytes.
            description: Some("é".repeat(500)),
        },
    ];
    for config in good {
        assert!(config.validate().is_ok(), "{config:?}");
    }
}

#[test]
fn once_reports_date_time_and_zone_together() {
    let found = problems(&once("2026-13-01", "25:00", "Europe/Berln"));
    assert_eq!(
        found,
        BTreeMap::from([
            (
                "schedule.date".to_owned(),
                "2026-13-01 is not a real calendar date".to_owned()
            ),
            (
                "schedule.time".to_owned(),
                "must be a 24-hour time in HH:MM or HH:MM:SS form, like 18:00".to_owned()
            ),
            (
                "schedule.timezone".to_owned(),
                "unknown time zone `Europe/Berln`; use an IANA name like Europe/Berlin".to_owned()
            ),
        ])
    );
    let found = problems(&once("24.12.2026", "6pm", "UTC"));
    assert_eq!(
        found["schedule.date"],
        "must be a date in YYYY-MM-DD form, like 2026-12-24"
    );
    assert!(found.contains_key("schedule.time"));
    assert!(!found.contains_key("schedule.timezone"));
}

#[test]
fn interval_value_must_be_positive_and_at_most_a_leap_year() {
    let found = problems(&interval(IntervalUnit::Minutes, 0, "Mars/Olympus"));
    assert_eq!(
        found,
        BTreeMap::from([
            ("schedule.value".to_owned(), "must be at least 1".to_owned()),
            (
                "schedule.timezone".to_owned(),
                "unknown time zone `Mars/Olympus`; use an IANA name like Europe/Berlin".to_owned()
            ),
        ])
    );
    for (unit, too_many, message) in [
        (
            IntervalUnit::Seconds,
            31_622_401,
            "must be at most 31622400 seconds (366 days)",
        ),
        (
            IntervalUnit::Minutes,
            527_041,
            "must be at most 527040 minutes (366 days)",
        ),
        (
            IntervalUnit::Hours,
            8_785,
            "must be at most 8784 hours (366 days)",
        ),
        (IntervalUnit::Days, 367, "must be at most 366 days"),
        (IntervalUnit::Days, u64::MAX, "must be at most 366 days"),
    ] {
        let found = problems(&interval(unit, too_many, "UTC"));
        assert_eq!(found["schedule.value"], message);
        assert_eq!(found.len(), 1);
    }
}

#[test]
fn cron_reports_line_description_and_zone_together() {
    let config = ScheduleConfig::Cron {
        cron: "0 25 * * *".to_owned(),
        timezone: "berlin".to_owned(),
        description: Some("x".repeat(501)),
    };
    let found = problems(&config);
    assert_eq!(
        found,
        BTreeMap::from([
            (
                "schedule.cron".to_owned(),
                "`0 25 * * *` is not a valid cron line: the hour field `25`: Hours must be less \
                 than 23. ('25' specified.)"
                    .to_owned()
            ),
            (
                "schedule.description".to_owned(),
                "must be at most 500 characters".to_owned()
            ),
            (
                "schedule.timezone".to_owned(),
                "unknown time zone `berlin`; use an IANA name like Europe/Berlin".to_owned()
            ),
        ])
    );
}

#[test]
fn bad_cron_lines_say_what_is_wrong() {
    let cases = [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("0 3 * *", "it has 4 fields; use 5"),
        ("0 0 0 3 * * * 2027", "has 8 fields"),
        ("61 * * * *", "the minute field `61`"),
        ("* * 0 * *", "the day-of-month field `0`"),
        ("* * * 13 *", "the month field `13`"),
        ("* * * * 8", "`8` is not a day of the week"),
        ("* * * * 5-1", "runs backwards"),
        ("1-2-3 * * * *", "cannot read the minute field `1-2-3`"),
        (
            "*/0 * * * *",
            "the minute field `*/0`: range step cannot be zero",
        ),
        ("0 0 3 * * 0", "the day-of-week field `0`"),
        ("0 0 3 * * * 1900", "the year field `1900`"),
        ("@often", "unknown shorthand"),
        ("L * * * *", "the minute field `L`"),
    ];
    for (line, needle) in cases {
        let found = problems(&cron(line, "UTC"));
        let message = &found["schedule.cron"];
        assert!(message.contains(needle), "{line:?}: {message}");
        assert!(message.contains("is not a valid cron line") || line.trim().is_empty());
    }
}
