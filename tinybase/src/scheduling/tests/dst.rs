//! Cron lines through the nights when clocks change.

use super::*;

#[test]
fn spring_forward_runs_a_skipped_time_at_the_jump_once() {
    // 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST at 01:00Z.
    let daily = cron("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        runs(&daily, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
    assert_eq!(
        next(&daily, "2026-03-29T01:00:00Z").as_deref(),
        Some("2026-03-30T00:30:00Z")
    );
}

#[test]
fn spring_forward_hourly_runs_the_jump_once() {
    // Wall 02:00 is skipped and 03:00 is the jump itself: one run at 01:00Z for both.
    let hourly = cron("0 * * * *", "Europe/Berlin");
    assert_eq!(
        runs(&hourly, "2026-03-28T22:30:00Z", 4),
        [
            "2026-03-28T23:00:00Z", // 00:00 CET
            "2026-03-29T00:00:00Z", // 01:00 CET
            "2026-03-29T01:00:00Z", // 03:00 CEST (02:00 skipped)
            "2026-03-29T02:00:00Z", // 04:00 CEST
        ]
    );
    let quarterly = cron("*/15 * * * *", "Europe/Berlin");
    assert_eq!(
        runs(&quarterly, "2026-03-29T00:40:00Z", 3),
        [
            "2026-03-29T00:45:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:15:00Z"
        ]
    );
}

#[test]
fn fall_back_runs_a_repeated_time_once_at_its_first_occurrence() {
    // 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET at 01:00Z.
    let daily = cron("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        runs(&daily, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
    // From inside the second (CET) pass of the repeated hour, 02:30 has already run.
    for from in [
        "2026-10-25T01:00:00Z",
        "2026-10-25T01:15:00Z",
        "2026-10-25T01:30:00Z",
    ] {
        assert_eq!(
            next(&daily, from).as_deref(),
            Some("2026-10-26T01:30:00Z"),
            "{from}"
        );
    }
}

#[test]
fn fall_back_hourly_runs_each_wall_hour_once() {
    let hourly = cron("0 * * * *", "Europe/Berlin");
    assert_eq!(
        runs(&hourly, "2026-10-24T21:30:00Z", 6),
        [
            "2026-10-24T22:00:00Z", // 00:00 CEST
            "2026-10-24T23:00:00Z", // 01:00 CEST
            "2026-10-25T00:00:00Z", // 02:00 CEST, the first 02:00
            "2026-10-25T02:00:00Z", // 03:00 CET; the second 02:00 (01:00Z) does not run
            "2026-10-25T03:00:00Z", // 04:00 CET
            "2026-10-25T04:00:00Z", // 05:00 CET
        ]
    );
    assert_eq!(
        next(&hourly, "2026-10-25T00:59:59Z").as_deref(),
        Some("2026-10-25T02:00:00Z")
    );
    assert_eq!(
        next(&hourly, "2026-10-25T01:00:00Z").as_deref(),
        Some("2026-10-25T02:00:00Z")
    );
    // Minutes inside the repeated hour run in the first pass only.
    let half_hourly = cron("*/30 * * * *", "Europe/Berlin");
    assert_eq!(
        runs(&half_hourly, "2026-10-24T23:45:00Z", 4),
        [
            "2026-10-25T00:00:00Z", // 02:00 CEST
            "2026-10-25T00:30:00Z", // 02:30 CEST
            "2026-10-25T02:00:00Z", // 03:00 CET
            "2026-10-25T02:30:00Z", // 03:30 CET
        ]
    );
}

#[test]
fn fall_back_every_second_skips_the_repeated_hour_quickly() {
    // From the start of the second pass, every wall second up to 03:00 has run.
    let every_second = cron("* * * * * *", "Europe/Berlin");
    assert_eq!(
        runs(&every_second, "2026-10-25T01:00:00Z", 2),
        ["2026-10-25T02:00:00Z", "2026-10-25T02:00:01Z"]
    );
}

#[test]
fn new_york_fall_back() {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:30 repeats.
    let night = cron("30 1 * * *", "America/New_York");
    assert_eq!(
        runs(&night, "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
}

#[test]
fn half_hour_dst_shift() {
    // Lord Howe Island moves its clocks by 30 minutes: on 2026-04-05 at 02:00 (+11) they go
    // back to 01:30 (+10:30), so 01:45 happens twice.
    let night = cron("45 1 * * *", "Australia/Lord_Howe");
    assert_eq!(
        runs(&night, "2026-04-04T00:00:00Z", 2),
        ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
    );
}
