//! Interval and once schedules.

use super::*;

#[test]
fn seconds_minutes_and_hours_are_exact_durations() {
    let from = "2026-01-01T00:00:00Z";
    let seconds = interval(IntervalUnit::Seconds, 30, "UTC");
    assert_eq!(
        runs(&seconds, from, 2),
        ["2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"]
    );
    let minutes = interval(IntervalUnit::Minutes, 15, "Asia/Kolkata");
    assert_eq!(
        next(&minutes, from).as_deref(),
        Some("2026-01-01T00:15:00Z")
    );
    let hours = interval(IntervalUnit::Hours, 2, "Europe/Berlin");
    assert_eq!(next(&hours, from).as_deref(), Some("2026-01-01T02:00:00Z"));
    // Fractions of a second are kept: the next run is exactly one interval on.
    let after = at("2026-01-01T12:00:00.250Z");
    assert_eq!(
        seconds.next_run_after(after),
        Some(at("2026-01-01T12:00:30.250Z"))
    );
}

#[test]
fn hours_ignore_clock_changes() {
    // 00:30Z is 01:30 CET; one hour later the clocks read 03:30 CEST.
    let hourly = interval(IntervalUnit::Hours, 1, "Europe/Berlin");
    assert_eq!(
        runs(&hourly, "2026-03-29T00:30:00Z", 2),
        ["2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z"]
    );
}

#[test]
fn days_keep_the_local_time_across_clock_changes() {
    let daily = interval(IntervalUnit::Days, 1, "Europe/Berlin");
    // 09:00 CET, then 09:00 CEST after spring forward.
    assert_eq!(
        runs(&daily, "2026-03-28T08:00:00Z", 2),
        ["2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    );
    // 09:00 CEST, then 09:00 CET after fall back.
    assert_eq!(
        runs(&daily, "2026-10-24T07:00:00Z", 2),
        ["2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"]
    );
    let weekly = interval(IntervalUnit::Days, 7, "Europe/Berlin");
    assert_eq!(
        next(&weekly, "2026-03-25T08:00:00Z").as_deref(),
        Some("2026-04-01T07:00:00Z")
    );
    // In UTC a day is always 24 hours.
    let utc_daily = interval(IntervalUnit::Days, 2, "UTC");
    assert_eq!(
        next(&utc_daily, "2026-03-28T08:00:00Z").as_deref(),
        Some("2026-03-30T08:00:00Z")
    );
}

#[test]
fn days_follow_the_dst_rules() {
    let daily = interval(IntervalUnit::Days, 1, "Europe/Berlin");
    // From 02:30 CET the next day's 02:30 does not exist: run when clocks jump (03:00 CEST).
    assert_eq!(
        next(&daily, "2026-03-28T01:30:00Z").as_deref(),
        Some("2026-03-29T01:00:00Z")
    );
    // From 02:30 CEST the next day's 02:30 happens twice: run at the first.
    assert_eq!(
        next(&daily, "2026-10-24T00:30:00Z").as_deref(),
        Some("2026-10-25T00:30:00Z")
    );
    // From the second 02:30 (CET) of the fall-back night, the next 02:30 is a day later.
    assert_eq!(
        next(&daily, "2026-10-25T01:30:00Z").as_deref(),
        Some("2026-10-26T01:30:00Z")
    );
}

#[test]
fn invalid_intervals_have_no_next_run() {
    let from = "2026-01-01T00:00:00Z";
    assert_eq!(next(&interval(IntervalUnit::Seconds, 0, "UTC"), from), None);
    assert_eq!(next(&interval(IntervalUnit::Days, 367, "UTC"), from), None);
    assert_eq!(
        next(&interval(IntervalUnit::Seconds, u64::MAX, "UTC"), from),
        None
    );
    assert_eq!(
        next(&interval(IntervalUnit::Days, 1, "Nowhere/City"), from),
        None
    );
    // The end of chrono's range is not a panic.
    let daily = interval(IntervalUnit::Days, 1, "UTC");
    assert_eq!(daily.next_run_after(DateTime::<Utc>::MAX_UTC), None);
    let hourly = interval(IntervalUnit::Hours, 1, "UTC");
    assert_eq!(hourly.next_run_after(DateTime::<Utc>::MAX_UTC), None);
}

#[test]
fn once_runs_at_its_local_moment_if_still_ahead() {
    let christmas = once("2026-12-24", "18:00", "Europe/Berlin");
    assert_eq!(christmas.once_moment(), Some(at("2026-12-24T17:00:00Z")));
    assert_eq!(
        next(&christmas, "2026-06-01T00:00:00Z").as_deref(),
        Some("2026-12-24T17:00:00Z")
    );
    assert_eq!(
        next(&christmas, "2026-12-24T16:59:59Z").as_deref(),
        Some("2026-12-24T17:00:00Z")
    );
    // Strictly after: not at its own moment, and never again once past.
    assert_eq!(next(&christmas, "2026-12-24T17:00:00Z"), None);
    assert_eq!(next(&christmas, "2027-01-01T00:00:00Z"), None);
    let with_seconds = once("2026-12-24", "18:00:30", "UTC");
    assert_eq!(with_seconds.once_moment(), Some(at("2026-12-24T18:00:30Z")));
    let kolkata = once("2026-05-01", "09:00", "Asia/Kolkata");
    assert_eq!(kolkata.once_moment(), Some(at("2026-05-01T03:30:00Z")));
}

#[test]
fn once_follows_the_dst_rules() {
    // 02:30 does not exist on 2026-03-29 in Berlin: the jump to 03:00 CEST.
    assert_eq!(
        once("2026-03-29", "02:30", "Europe/Berlin").once_moment(),
        Some(at("2026-03-29T01:00:00Z"))
    );
    // 02:30 happens twice on 2026-10-25: the first time (CEST).
    assert_eq!(
        once("2026-10-25", "02:30", "Europe/Berlin").once_moment(),
        Some(at("2026-10-25T00:30:00Z"))
    );
}

#[test]
fn once_moment_is_only_for_valid_once_schedules() {
    assert_eq!(interval(IntervalUnit::Days, 1, "UTC").once_moment(), None);
    assert_eq!(cron("0 3 * * *", "UTC").once_moment(), None);
    assert_eq!(once("2026-02-30", "18:00", "UTC").once_moment(), None);
    assert_eq!(
        once("2026-12-24", "18:00", "Europe/Berln").once_moment(),
        None
    );
    assert_eq!(
        next(&once("2026-12-24", "1800", "UTC"), "2026-01-01T00:00:00Z"),
        None
    );
}
