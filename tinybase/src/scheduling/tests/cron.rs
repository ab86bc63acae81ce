//! Cron lines: five, six and seven fields, classic day-of-week rules, zones, no match.

use super::*;

#[test]
fn five_field_lines_run_on_the_minute() {
    let quarter = cron("*/15 * * * *", "UTC");
    assert_eq!(
        runs(&quarter, "2026-01-01T10:07:30Z", 3),
        [
            "2026-01-01T10:15:00Z",
            "2026-01-01T10:30:00Z",
            "2026-01-01T10:45:00Z"
        ]
    );
    // Strictly after: a run exactly at `after` is not the next one.
    assert_eq!(
        next(&quarter, "2026-01-01T10:15:00Z").as_deref(),
        Some("2026-01-01T10:30:00Z")
    );
    assert_eq!(
        next(&quarter, "2026-01-01T10:14:59.999Z").as_deref(),
        Some("2026-01-01T10:15:00Z")
    );
}

#[test]
fn six_and_seven_field_lines_have_seconds_first() {
    let with_seconds = cron("30 0 3 * * *", "UTC");
    assert_eq!(
        next(&with_seconds, "2026-01-01T00:00:00Z").as_deref(),
        Some("2026-01-01T03:00:30Z")
    );
    let every_ten_seconds = cron("*/10 * * * * *", "UTC");
    assert_eq!(
        runs(&every_ten_seconds, "2026-01-01T00:00:05Z", 2),
        ["2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"]
    );
    let with_year = cron("0 0 12 1 1 * 2027", "UTC");
    assert_eq!(
        runs(&with_year, "2026-06-01T00:00:00Z", 2),
        ["2027-01-01T12:00:00Z"],
        "a year field ends the schedule"
    );
    // The crate's own day-of-week numbering: 1 is Sunday.
    let crate_sunday = cron("0 0 12 * * 1", "UTC");
    assert_eq!(
        next(&crate_sunday, "2026-02-02T00:00:00Z").as_deref(),
        Some("2026-02-08T12:00:00Z")
    );
}

#[test]
fn shorthands_work() {
    let daily = cron("@daily", "Europe/Berlin");
    assert_eq!(
        next(&daily, "2026-01-10T12:00:00Z").as_deref(),
        Some("2026-01-10T23:00:00Z")
    );
}

#[test]
fn classic_day_of_week_numbers() {
    // 2026-02-06 is a Friday and 2026-02-08 a Sunday.
    for sunday in ["0", "7", "sun", "SUN"] {
        let line = format!("0 12 * * {sunday}");
        assert_eq!(
            next(&cron(&line, "UTC"), "2026-02-06T00:00:00Z").as_deref(),
            Some("2026-02-08T12:00:00Z"),
            "{line}"
        );
    }
    // Monday to Friday: from Friday noon, next is Monday.
    let weekdays = cron("0 9 * * 1-5", "UTC");
    assert_eq!(
        runs(&weekdays, "2026-02-06T12:00:00Z", 2),
        ["2026-02-09T09:00:00Z", "2026-02-10T09:00:00Z"]
    );
}

#[test]
fn day_of_month_or_day_of_week_when_both_are_set() {
    // Classic cron: the 13th, and every Friday.
    let line = cron("0 12 13 * 5", "UTC");
    assert_eq!(
        runs(&line, "2026-02-01T00:00:00Z", 4),
        [
            "2026-02-06T12:00:00Z",
            "2026-02-13T12:00:00Z",
            "2026-02-20T12:00:00Z",
            "2026-02-27T12:00:00Z"
        ]
    );
    let line = cron("0 12 15 * mon", "UTC");
    assert_eq!(
        runs(&line, "2026-02-10T00:00:00Z", 3),
        [
            "2026-02-15T12:00:00Z",
            "2026-02-16T12:00:00Z",
            "2026-02-23T12:00:00Z"
        ]
    );
    // A `*` day of month leaves only the weekday rule.
    let line = cron("0 12 */1 * 5", "UTC");
    assert_eq!(
        next(&line, "2026-02-07T00:00:00Z").as_deref(),
        Some("2026-02-13T12:00:00Z")
    );
}

#[test]
fn local_time_in_winter_and_summer() {
    let nightly = cron("0 3 * * *", "Europe/Berlin");
    assert_eq!(
        next(&nightly, "2026-01-10T12:00:00Z").as_deref(),
        Some("2026-01-11T02:00:00Z")
    );
    assert_eq!(
        next(&nightly, "2026-07-10T12:00:00Z").as_deref(),
        Some("2026-07-11T01:00:00Z")
    );
}

#[test]
fn new_york_weekdays_across_its_spring_change() {
    // US clocks went forward on Sunday 2026-03-08: 09:00 is 14:00Z before, 13:00Z after.
    let weekdays = cron("0 9 * * mon-fri", "America/New_York");
    assert_eq!(
        runs(&weekdays, "2026-03-05T12:00:00Z", 3),
        [
            "2026-03-05T14:00:00Z",
            "2026-03-06T14:00:00Z",
            "2026-03-09T13:00:00Z"
        ]
    );
    // 02:30 did not exist that night: the run is at the jump, 03:00 EDT.
    let night = cron("30 2 * * *", "America/New_York");
    assert_eq!(
        next(&night, "2026-03-07T12:00:00Z").as_deref(),
        Some("2026-03-08T07:00:00Z")
    );
}

#[test]
fn half_hour_zone() {
    let morning = cron("0 9 * * *", "Asia/Kolkata");
    assert_eq!(
        next(&morning, "2026-05-01T00:00:00Z").as_deref(),
        Some("2026-05-01T03:30:00Z")
    );
    // 00:00Z is 05:30 in Kolkata; the next half past is 06:30, 01:00Z.
    let half_past = cron("30 * * * *", "Asia/Kolkata");
    assert_eq!(
        runs(&half_past, "2026-05-01T00:00:00Z", 2),
        ["2026-05-01T01:00:00Z", "2026-05-01T02:00:00Z"]
    );
}

#[test]
fn lines_without_a_future_match_have_no_next_run() {
    assert_eq!(
        next(&cron("0 0 30 2 *", "UTC"), "2026-01-01T00:00:00Z"),
        None
    );
    assert_eq!(
        next(&cron("0 0 31 4 *", "Europe/Berlin"), "2026-01-01T00:00:00Z"),
        None
    );
    assert_eq!(
        next(&cron("0 0 0 1 1 * 2020", "UTC"), "2026-01-01T00:00:00Z"),
        None
    );
    // The crate's calendar ends with 2100.
    assert_eq!(
        next(&cron("0 3 * * *", "UTC"), "2100-12-31T12:00:00Z"),
        None
    );
    // Invalid configurations give None rather than a panic.
    assert_eq!(
        next(&cron("0 25 * * *", "UTC"), "2026-01-01T00:00:00Z"),
        None
    );
    assert_eq!(
        next(&cron("0 3 * * *", "Europe/Berln"), "2026-01-01T00:00:00Z"),
        None
    );
    let max = cron("* * * * *", "UTC").next_run_after(DateTime::<Utc>::MAX_UTC);
    assert_eq!(max, None);
}
