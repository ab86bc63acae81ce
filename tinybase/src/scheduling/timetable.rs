//! [`ScheduleConfig`]: when a schedule runs, as users write it, checked and evaluated.

use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cron_line::CronLine;
use super::dst;
use super::parse::{parse_date, parse_time, parse_timezone};
use crate::{FieldErrors, Result};

/// The longest cron description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest interval, in days: runs at least once a year.
const MAX_INTERVAL_DAYS: u64 = 366;
/// The top-level message of a schedule's validation error.
const INVALID_MESSAGE: &str = "the schedule is not valid";

/// How often an interval schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntervalUnit {
    /// Exact seconds.
    Seconds,
    /// Exact minutes (60 s).
    Minutes,
    /// Exact hours (3600 s).
    Hours,
    /// Calendar days: the same local time of day, however long the day was.
    Days,
}

impl IntervalUnit {
    /// The unit's name as users write it.
    fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
        }
    }

    /// Seconds in one unit (a day counts as 86 400 for the length limit only).
    fn seconds(self) -> u64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3_600,
            Self::Days => 86_400,
        }
    }

    /// The largest `value` allowed in this unit: 366 days' worth.
    fn max_value(self) -> u64 {
        MAX_INTERVAL_DAYS * Self::Days.seconds() / self.seconds()
    }
}

/// When a schedule runs. Serialized with a `method` tag:
/// `{"method": "once", "date": "2026-12-24", "time": "18:00", "timezone": "Europe/Berlin"}`,
/// `{"method": "interval", "unit": "minutes", "value": 15, "timezone": "UTC"}`,
/// `{"method": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "description": "nightly"}`.
///
/// Times of day are local to `timezone` (an IANA name, default `UTC`); see the
/// [module docs](super) for what happens when clocks change.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use tinybase::scheduling::ScheduleConfig;
/// use tinybase::serde_json::{from_value, json};
///
/// let nightly: ScheduleConfig = from_value(json!({
///     "method": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berlin"
/// }))?;
/// nightly.validate()?;
/// // 03:00 in Berlin is 01:00 UTC in summer.
/// let after: DateTime<Utc> = "2026-07-10T12:00:00Z".parse()?;
/// let next: DateTime<Utc> = "2026-07-11T01:00:00Z".parse()?;
/// assert_eq!(nightly.next_run_after(after), Some(next));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum ScheduleConfig {
    /// Runs once, at a local date and time.
    Once {
        /// The local date, `YYYY-MM-DD`.
        date: String,
        /// The local time of day, `HH:MM` or `HH:MM:SS` (24-hour).
        time: String,
        /// IANA time-zone name, such as `Europe/Berlin`.
        #[serde(default = "utc")]
        timezone: String,
        // No description field: a once-schedule is explained by its moment.
    },
    /// Runs every `value` units, counted from the previous run.
    Interval {
        /// The unit of `value`.
        unit: IntervalUnit,
        /// How many units between runs: at least 1, at most 366 days' worth.
        #[schemars(range(min = 1, max = 31_622_400))]
        value: u64,
        /// IANA time-zone name; decides the local time of day that `days` keeps.
        #[serde(default = "utc")]
        timezone: String,
    },
    /// Runs whenever a cron line matches the local time.
    Cron {
        /// A five-field line (`minute hour day-of-month month day-of-week`, like
        /// `0 3 * * *`), or six to seven fields with seconds first.
        cron: String,
        /// IANA time-zone name, such as `Europe/Berlin`.
        #[serde(default = "utc")]
        timezone: String,
        /// What the schedule is for, up to 500 characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// The default time zone.
fn utc() -> String {
    "UTC".to_owned()
}

impl ScheduleConfig {
    /// Checks every part of the schedule.
    ///
    /// # Errors
    /// A 422 listing every problem at once, under `schedule.date`, `schedule.time`,
    /// `schedule.timezone`, `schedule.value`, `schedule.cron` and `schedule.description`.
    pub fn validate(&self) -> Result<()> {
        let mut fields = FieldErrors::default();
        if let Err(message) = parse_timezone(self.timezone()) {
            fields.add("schedule.timezone", message);
        }
        match self {
            Self::Once { date, time, .. } => {
                if let Err(message) = parse_date(date) {
                    fields.add("schedule.date", message);
                }
                if let Err(message) = parse_time(time) {
                    fields.add("schedule.time", message);
                }
            }
            Self::Interval { unit, value, .. } => {
                if *value < 1 {
                    fields.add("schedule.value", "must be at least 1");
                } else if *value > unit.max_value() {
                    let limit = format!("must be at most {} {}", unit.max_value(), unit.name());
                    let message = match unit {
                        IntervalUnit::Days => limit,
                        _ => format!("{limit} ({MAX_INTERVAL_DAYS} days)"),
                    };
                    fields.add("schedule.value", message);
                }
            }
            Self::Cron {
                cron, description, ..
            } => {
                if let Err(message) = CronLine::parse(cron) {
                    fields.add("schedule.cron", message);
                }
                let too_long = description
                    .as_ref()
                    .is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS);
                if too_long {
                    fields.add(
                        "schedule.description",
                        format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
                    );
                }
            }
        }
        fields.into_result(INVALID_MESSAGE)
    }

    /// The first run strictly after `after`; `None` when there is none (a once-schedule
    /// whose moment has passed, a cron line with no further match). Assumes
    /// [`validate`](Self::validate) passed; an invalid schedule gives `None`.
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = parse_timezone(self.timezone()).ok()?;
        match self {
            Self::Once { .. } => self.once_moment().filter(|at| *at > after),
            Self::Interval { unit, value, .. } => next_interval(tz, *unit, *value, after),
            Self::Cron { cron, .. } => CronLine::parse(cron).ok()?.next_run_after(tz, after),
        }
    }

    /// For a once-schedule, the moment it runs (so the API can refuse one in the past);
    /// `None` for other kinds and for an invalid once-schedule.
    pub fn once_moment(&self) -> Option<DateTime<Utc>> {
        let Self::Once {
            date,
            time,
            timezone,
        } = self
        else {
            return None;
        };
        let tz = parse_timezone(timezone).ok()?;
        let wall = parse_date(date).ok()?.and_time(parse_time(time).ok()?);
        dst::resolve(tz, wall)
    }

    /// The schedule's IANA time-zone name.
    pub fn timezone(&self) -> &str {
        match self {
            Self::Once { timezone, .. }
            | Self::Interval { timezone, .. }
            | Self::Cron { timezone, .. } => timezone,
        }
    }
}

/// The run `value` units after `after`: an exact duration, or for days the same local
/// time `value` calendar days later.
fn next_interval(
    tz: Tz,
    unit: IntervalUnit,
    value: u64,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !(1..=unit.max_value()).contains(&value) {
        return None;
    }
    // Within the limit the product is at most 366 days of seconds: no overflow.
    let exact = Duration::try_seconds(i64::try_from(value * unit.seconds()).ok()?)?;
    if unit != IntervalUnit::Days {
        return after.checked_add_signed(exact);
    }
    let wall = dst::wall_time(tz, after).checked_add_days(Days::new(value))?;
    match dst::resolve(tz, wall)? {
        at if at > after => Some(at),
        // Only a zone that repeats a whole calendar day (a date-line move) lands here;
        // fall back to the exact duration so the schedule still moves forward.
        _ => after.checked_add_signed(exact),
    }
}
