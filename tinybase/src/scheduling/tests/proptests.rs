//! Property tests: from any instant, runs move strictly forward, a cron line never repeats
//! a wall time, and a five-field cron line agrees with a slow minute-by-minute oracle that
//! states the DST rules directly. Instants cluster around real clock changes.

use ::cron::Schedule;
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

/// Zones with whole-hour, half-hour and 45-minute offsets and DST shifts, on both
/// hemispheres, plus Samoa's skipped day.
const ZONES: [&str; 9] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Asia/Kathmandu",
    "Pacific/Apia",
];

/// Five-field lines that match at least once a day, so the oracle finds a run quickly.
const DAILY_LINES: [&str; 9] = [
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "45 1 * * *",
    "0 3 * * *",
    "*/7 1-3 * * *",
    "59 23 * * *",
    "0 0 * * *",
    "15,45 0-4 * * *",
];

/// A line that never matches.
const NEVER: &str = "0 0 30 2 *";

/// Other lines: seconds, weekdays, day-of-month-or-weekday, shorthands, no match at all.
const OTHER_LINES: [&str; 6] = [
    "30 0 2 * * *",
    "*/20 * 1-3 * * *",
    "0 9 * * mon-fri",
    "0 12 13 * 5",
    "@hourly",
    NEVER,
];

/// Seconds from a clock change: mostly within the two hours either side, where the
/// skipped and repeated wall times are.
fn jitter() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -7_200..7_200i64, 1 => -172_800..172_800i64]
}

/// The offset changes of `tz` during `year`, as Unix seconds.
fn transitions(tz: Tz, year: i32) -> Vec<i64> {
    let offset = |secs: i64| {
        let at = DateTime::from_timestamp(secs, 0).unwrap();
        tz.offset_from_utc_datetime(&at.naive_utc()).fix()
    };
    let start = Utc
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let mut found = Vec::new();
    for day in 0..366 {
        let (mut low, mut high) = (start + day * 86_400, start + (day + 1) * 86_400);
        if offset(low) == offset(high) {
            continue;
        }
        while high - low > 1 {
            let mid = (low + high) / 2;
            if offset(mid) == offset(low) {
                low = mid;
            } else {
                high = mid;
            }
        }
        found.push(high);
    }
    found
}

/// An instant within two days of a clock change of `tz` in `year` (or of new year, for a
/// zone without changes), with a random fraction of a second.
fn instant_near_change(
    tz: Tz,
    year: i32,
    pick: prop::sample::Index,
    jitter: i64,
    nanos: u32,
) -> DateTime<Utc> {
    let changes = transitions(tz, year);
    let base = if changes.is_empty() {
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp()
    } else {
        changes[pick.index(changes.len())]
    };
    DateTime::from_timestamp(base + jitter, nanos).unwrap()
}

/// The first run after `after` by brute force: walk whole minutes and apply the rules as
/// stated — a matching wall time runs at its first occurrence, and the wall times skipped
/// by a jump run at the jump.
fn oracle(line: &str, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule: Schedule = format!("0 {line}").parse().unwrap();
    let matches = |wall: NaiveDateTime| schedule.includes(wall.and_utc());
    let wall = |at: DateTime<Utc>| at.with_timezone(&tz).naive_local();
    let minute = Duration::minutes(1);
    let first_minute = DateTime::from_timestamp((after.timestamp().div_euclid(60) + 1) * 60, 0)?;
    let mut x = first_minute;
    while x < after + Duration::days(3) {
        let here = wall(x);
        let first_occurrence = match tz.from_local_datetime(&here) {
            LocalResult::Single(_) => true,
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc) == x,
            LocalResult::None => unreachable!("an instant's own wall time exists"),
        };
        if first_occurrence && matches(here) {
            return Some(x);
        }
        let mut skipped = wall(x - minute) + minute;
        while skipped < here {
            if matches(skipped) {
                return Some(x);
            }
            skipped += minute;
        }
        x += minute;
    }
    None
}

fn config_strategy() -> impl Strategy<Value = ScheduleConfig> {
    let zone = prop::sample::select(&ZONES[..]);
    let line = prop::sample::select([&DAILY_LINES[..], &OTHER_LINES[..]].concat());
    let unit = prop::sample::select(vec![
        IntervalUnit::Seconds,
        IntervalUnit::Minutes,
        IntervalUnit::Hours,
        IntervalUnit::Days,
    ]);
    prop_oneof![
        (line, zone.clone()).prop_map(|(line, zone)| cron(line, zone)),
        (unit, 1..=400u64, zone).prop_map(|(unit, value, zone)| interval(
            unit,
            value.min(366),
            zone
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn runs_move_strictly_forward(
        config in config_strategy(),
        year in 1995..2090i32,
        pick in any::<prop::sample::Index>(),
        jitter in jitter(),
        nanos in prop_oneof![Just(0u32), 0..1_000_000_000u32],
    ) {
        prop_assert!(config.validate().is_ok());
        let tz: Tz = config.timezone().parse().unwrap();
        let mut last = instant_near_change(tz, year, pick, jitter, nanos);
        let mut last_wall = None;
        for _ in 0..20 {
            let next = config.next_run_after(last);
            let never = matches!(&config, ScheduleConfig::Cron { cron, .. } if cron == NEVER);
            prop_assert_eq!(next.is_none(), never, "{:?} after {}", config, last);
            let Some(next) = next else {
                break;
            };
            prop_assert!(next > last, "{config:?}: {next} after {last}");
            if let ScheduleConfig::Cron { .. } = config {
                let wall = next.with_timezone(&tz).naive_local();
                prop_assert!(last_wall < Some(wall), "{config:?}: wall {wall} repeats at {next}");
                last_wall = Some(wall);
            }
            last = next;
        }
    }

    #[test]
    fn cron_agrees_with_the_oracle(
        line in prop::sample::select(&DAILY_LINES[..]),
        zone in prop::sample::select(&ZONES[..]),
        year in 2000..2090i32,
        pick in any::<prop::sample::Index>(),
        jitter in jitter(),
        nanos in prop_oneof![Just(0u32), 0..1_000_000_000u32],
    ) {
        let tz: Tz = zone.parse().unwrap();
        let after = instant_near_change(tz, year, pick, jitter, nanos);
        let config = cron(line, zone);
        prop_assert_eq!(config.next_run_after(after), oracle(line, tz, after), "{} in {} after {}", line, zone, after);
    }
}
