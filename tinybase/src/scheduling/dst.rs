//! Mapping local wall-clock times to instants across daylight-saving changes.
//!
//! Every schedule that names a time of day (once, interval in days, cron) goes through
//! [`resolve`], so they all follow the same rules:
//! - a wall time that occurs once maps to that instant;
//! - a wall time that occurs twice (clocks went back) maps to the earlier instant, so the
//!   run happens once, at the first occurrence;
//! - a wall time that does not exist (clocks went forward) maps to the instant the clocks
//!   jumped — the first instant after it — so the run is late rather than lost.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Seconds either side of a wall time within which its instants lie: a UTC offset is
/// always less than a day (chrono's `FixedOffset` cannot hold more).
const OFFSET_BOUND_SECS: i64 = 86_400;

/// The wall-clock time in `tz` at instant `at`.
pub(super) fn wall_time(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// The instant a schedule set for local `wall` time in `tz` runs; see the module docs.
///
/// `None` only for wall times at the edge of chrono's range.
pub(super) fn resolve(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _later) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, wall),
    }
}

/// The latest wall time whose run is at or before `after`: every later wall time
/// [resolves](resolve) to an instant after `after`.
///
/// Usually that is the wall time of `after`. But when `after` falls in the second pass of
/// a repeated hour, every wall time of that hour already ran in the first pass, so it is
/// the last moment before the repeated hour ends (one nanosecond before). Searching on
/// from there keeps a sequence of runs strictly increasing without repeating a wall time.
pub(super) fn settled_wall_time(tz: Tz, after: DateTime<Utc>) -> Option<NaiveDateTime> {
    let wall = wall_time(tz, after);
    let LocalResult::Ambiguous(earlier, later) = tz.from_local_datetime(&wall) else {
        return Some(wall);
    };
    if later.with_timezone(&Utc) != after {
        return Some(wall);
    }
    let second_pass_end = second_pass_end(tz, after, later - earlier)?;
    Some(wall_time(tz, second_pass_end) - Duration::nanoseconds(1))
}

/// The instant the second pass of a repeated hour ends, for `after` inside it: the first
/// whole second from `after` on whose wall time is not a second occurrence, by bisection.
///
/// The pass lasts `fold` (how far the clocks went back), so it ends within `fold` of
/// `after`; transitions and offsets are whole seconds, so the end is a whole second.
fn second_pass_end(tz: Tz, after: DateTime<Utc>, fold: Duration) -> Option<DateTime<Utc>> {
    let in_second_pass =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|at| is_second_occurrence(tz, at));
    // Invariant: in_second_pass(low) and !in_second_pass(high).
    let mut low = after.timestamp();
    let mut high = low.checked_add(fold.num_seconds())?;
    if !in_second_pass(low)? || in_second_pass(high)? {
        return None;
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if in_second_pass(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    DateTime::from_timestamp(high, 0)
}

/// True when `at` is the later of two instants that share a wall time.
fn is_second_occurrence(tz: Tz, at: DateTime<Utc>) -> bool {
    match tz.from_local_datetime(&wall_time(tz, at)) {
        LocalResult::Ambiguous(_, later) => later.with_timezone(&Utc) == at,
        _ => false,
    }
}

/// The first instant whose wall time is at or after `wall`, for a `wall` that falls in a
/// gap: the transition instant, found by bisection on whole seconds.
///
/// Time-zone transitions happen on whole seconds, so whole-second steps hit the
/// transition exactly even when `wall` has a fraction of a second.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wall_at = |secs: i64| DateTime::from_timestamp(secs, 0).map(|at| wall_time(tz, at));
    let centre = wall.and_utc().timestamp();
    // Invariant: wall_at(low) < wall <= wall_at(high). The offset bound makes it true at
    // the start; check anyway rather than trust it silently.
    let mut low = centre.checked_sub(OFFSET_BOUND_SECS)?;
    let mut high = centre.checked_add(OFFSET_BOUND_SECS)?;
    if wall_at(low)? >= wall || wall_at(high)? < wall {
        return None;
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if wall_at(mid)? >= wall {
            high = mid;
        } else {
            low = mid;
        }
    }
    DateTime::from_timestamp(high, 0)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn wall(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn ordinary_wall_time_maps_to_its_instant() {
        let at = resolve(Tz::Europe__Berlin, wall(2026, 1, 15, 3, 0));
        assert_eq!(at, Some(utc("2026-01-15T02:00:00Z")));
    }

    #[test]
    fn skipped_wall_time_maps_to_the_jump() {
        // 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST at 01:00Z.
        for minute in [0, 1, 30, 59] {
            let at = resolve(Tz::Europe__Berlin, wall(2026, 3, 29, 2, minute));
            assert_eq!(at, Some(utc("2026-03-29T01:00:00Z")), "02:{minute:02}");
        }
    }

    #[test]
    fn skipped_wall_time_with_a_fraction_maps_to_the_jump() {
        let fractional = wall(2026, 3, 29, 2, 30) + chrono::Duration::milliseconds(250);
        let at = resolve(Tz::Europe__Berlin, fractional);
        assert_eq!(at, Some(utc("2026-03-29T01:00:00Z")));
    }

    #[test]
    fn repeated_wall_time_maps_to_the_first_occurrence() {
        // 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET at 01:00Z.
        let at = resolve(Tz::Europe__Berlin, wall(2026, 10, 25, 2, 30));
        assert_eq!(at, Some(utc("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn settled_wall_time_covers_the_whole_repeated_hour_in_its_second_pass() {
        let berlin = Tz::Europe__Berlin;
        let settled = |at: &str| settled_wall_time(berlin, utc(at));
        // Ordinary instants and the first (CEST) pass: their own wall time.
        assert_eq!(
            settled("2026-10-24T12:00:00Z"),
            Some(wall(2026, 10, 24, 14, 0))
        );
        assert_eq!(
            settled("2026-10-25T00:15:00Z"),
            Some(wall(2026, 10, 25, 2, 15))
        );
        // The second (CET) pass, from its first second to its last: up to 03:00 CET.
        let end = wall(2026, 10, 25, 3, 0) - Duration::nanoseconds(1);
        for at in [
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:15:00.5Z",
            "2026-10-25T01:59:59Z",
        ] {
            assert_eq!(settled(at), Some(end), "{at}");
        }
        assert_eq!(
            settled("2026-10-25T02:00:00Z"),
            Some(wall(2026, 10, 25, 3, 0))
        );
    }

    #[test]
    fn a_whole_skipped_day_maps_to_the_next_midnight() {
        // Samoa moved across the date line: 2011-12-30 never happened in Pacific/Apia.
        let at = resolve(Tz::Pacific__Apia, wall(2011, 12, 30, 12, 0));
        assert_eq!(at, Some(utc("2011-12-30T10:00:00Z")));
        assert_eq!(
            wall_time(Tz::Pacific__Apia, utc("2011-12-30T10:00:00Z")),
            wall(2011, 12, 31, 0, 0)
        );
    }
}
