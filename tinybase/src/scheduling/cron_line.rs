//! Cron lines evaluated on local wall-clock time.
//!
//! The `cron` crate can walk a schedule in a time zone itself, but then a wall time in the
//! repeated hour of a fall-back night matches twice and one in the skipped hour of a
//! spring-forward night not at all. Instead, the line is matched on a plain wall-clock
//! timeline (`Utc` stands in for "no zone", so no time is skipped or repeated), and each
//! match is mapped to an instant by [`dst::resolve`].

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use chrono_tz::Tz;
use cron::Schedule;

use super::dst;
use super::weekdays;

/// The last year the `cron` crate's calendar covers.
const CRATE_LAST_YEAR: i32 = 2100;

/// A parsed cron line: one `cron` schedule, or two whose matches are merged when a
/// five-field line restricts both day of month and day of week (classic cron runs on a
/// day matching either; the crate alone would require both).
#[derive(Debug)]
pub(super) struct CronLine {
    schedules: Vec<Schedule>,
}

impl CronLine {
    /// Parses a five-field classic line (`minute hour day-of-month month day-of-week`), a
    /// six- or seven-field `cron` crate line (seconds first, optional year) or a crate
    /// shorthand such as `@daily`.
    ///
    /// # Errors
    /// The message to show under `schedule.cron`, including the parser's own message.
    pub(super) fn parse(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let schedules = match fields.as_slice() {
            [] => return Err("must not be empty; write a cron line like `0 3 * * *`".to_owned()),
            [shorthand] if shorthand.starts_with('@') => {
                let schedule = Schedule::from_str(shorthand).map_err(|_| {
                    invalid(
                        line,
                        "unknown shorthand; use @yearly, @monthly, @weekly, @daily or @hourly",
                    )
                })?;
                vec![schedule]
            }
            [_, _, _, _, _] => classic_schedules(line, &fields)?,
            [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => {
                vec![crate_schedule(line, &fields, &fields.join(" "))?]
            }
            other => {
                let reason = format!(
                    "it has {} fields; use 5 (minute hour day-of-month month day-of-week, \
                     like `0 3 * * *`) or 6–7 with seconds first",
                    other.len()
                );
                return Err(invalid(line, &reason));
            }
        };
        Ok(Self { schedules })
    }

    /// The first run strictly after `after`, with the line read as wall-clock time in `tz`.
    ///
    /// `None` when the line has no further match (the crate's calendar ends with 2100).
    pub(super) fn next_run_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = self.next_wall_after(dst::settled_wall_time(tz, after)?)?;
        let at = dst::resolve(tz, wall)?;
        // Later wall times never resolve to earlier instants, and every wall time after
        // the settled one resolves to an instant after `after`; check rather than trust.
        (at > after).then_some(at)
    }

    /// The earliest wall time strictly after `wall` that the line matches.
    fn next_wall_after(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        // Past its calendar the crate has no match to find, and near chrono's end of time
        // it would overflow adding a second.
        if wall.year() > CRATE_LAST_YEAR {
            return None;
        }
        let stand_in = wall.and_utc();
        self.schedules
            .iter()
            .filter_map(|schedule| schedule.after(&stand_in).next())
            .min()
            .map(|at| at.naive_utc())
    }
}

/// The schedules for a classic five-field line: seconds fixed at 0, day of week in the
/// crate's numbering, and day of month or day of week when both are restricted.
fn classic_schedules(line: &str, fields: &[&str]) -> Result<Vec<Schedule>, String> {
    let [minute, hour, day_of_month, month, day_of_week] = fields else {
        return Err(invalid(line, "expected five fields"));
    };
    let weekdays =
        weekdays::to_crate_field(day_of_week).map_err(|reason| invalid(line, &reason))?;
    // Seconds are always 0: the crate needs the field, classic cron has none.
    let expression = |dom: &str, dow: &str| format!("0 {minute} {hour} {dom} {month} {dow}");
    if is_restricted(day_of_month) && is_restricted(day_of_week) {
        Ok(vec![
            crate_schedule(line, fields, &expression(day_of_month, "*"))?,
            crate_schedule(line, fields, &expression("*", &weekdays))?,
        ])
    } else {
        Ok(vec![crate_schedule(
            line,
            fields,
            &expression(day_of_month, &weekdays),
        )?])
    }
}

/// True when a classic day-of-month or day-of-week field restricts the days, which decides
/// whether the two combine with "or". Classic cron looks only at the first character, so
/// `*/2` counts as unrestricted.
fn is_restricted(field: &str) -> bool {
    !field.starts_with('*') && field != "?"
}

/// The crate's field names, in its order (a five-field line gets `second` prepended).
const CRATE_FIELDS: [&str; 7] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

/// Parses `expression` with the `cron` crate. `line` is what the user wrote and `fields`
/// its fields, which errors name instead of the crate's rewritten expression.
fn crate_schedule(line: &str, fields: &[&str], expression: &str) -> Result<Schedule, String> {
    Schedule::from_str(expression)
        .map_err(|err| invalid(line, &explain(&err.to_string(), fields, expression)))
}

/// Rewrites a crate error — `<expression>\n<spaces>^\n<message>` — as one line that names
/// the user's field at the caret and keeps the crate's message.
fn explain(error: &str, fields: &[&str], expression: &str) -> String {
    let mut lines = error.lines().skip(1);
    let caret = lines.next().and_then(|caret| caret.find('^'));
    let message = lines.collect::<Vec<_>>().join(" ");
    let message = message.trim();
    let crate_fields = expression.split_whitespace().count();
    // How many fields the rewriting put in front of the user's (`0 ` for seconds).
    let added = crate_fields.saturating_sub(fields.len());
    let field = caret
        .filter(|_| crate_fields >= 6)
        .and_then(|column| expression.get(..=column))
        .and_then(|upto| upto.split_whitespace().count().checked_sub(1))
        .and_then(|index| {
            let user_field = fields.get(index.checked_sub(added)?)?;
            Some(format!(
                "the {} field `{user_field}`",
                CRATE_FIELDS.get(index)?
            ))
        });
    match (field, message) {
        (Some(field), "") => format!("cannot read {field}"),
        (Some(field), message) => format!("{field}: {message}"),
        (None, "") => "cannot read it".to_owned(),
        (None, message) => message.to_owned(),
    }
}

/// The message for a line that does not parse.
fn invalid(line: &str, reason: &str) -> String {
    format!("`{line}` is not a valid cron line: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_follows_the_first_character() {
        assert!(!is_restricted("*"));
        assert!(!is_restricted("*/2"));
        assert!(!is_restricted("?"));
        assert!(is_restricted("1-5"));
        assert!(is_restricted("13"));
    }

    #[test]
    fn both_day_fields_restricted_gives_two_schedules() {
        let count = |line: &str| CronLine::parse(line).unwrap().schedules.len();
        assert_eq!(count("0 12 13 * 5"), 2);
        assert_eq!(count("0 12 13 * *"), 1);
        assert_eq!(count("0 12 */2 * 5"), 1);
        // Six-field lines keep the crate's meaning: both must match.
        assert_eq!(count("0 0 12 13 * 6"), 1);
    }
}
