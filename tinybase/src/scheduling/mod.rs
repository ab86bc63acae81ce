//! Schedules: when a function runs on its own.
//!
//! [`ScheduleConfig`] is what a user saves: a one-off moment, a fixed interval or a cron
//! line, each in an IANA time zone. [`ScheduleConfig::validate`] reports every problem at
//! once; [`ScheduleConfig::next_run_after`] says when it runs next.
//!
//! Schedule rules users rely on:
//! - Wall-clock times (`once`, `interval` in days, `cron`) are local to the schedule's time
//!   zone, so `0 3 * * *` in Europe/Berlin runs at 03:00 Berlin time in winter and summer.
//! - When clocks go forward, a wall time in the skipped hour runs at the moment the clocks
//!   jump (02:30 on the spring-forward day runs at 03:00), once.
//! - When clocks go back, a wall time in the repeated hour runs once, at its first
//!   occurrence; an hourly cron runs once for the repeated hour, not twice.
//! - Intervals in seconds, minutes and hours are exact durations; an interval in days keeps
//!   the local time of day.
//! - A five-field cron line means what it means to the classic `cron` daemon: day of week
//!   0–7 with 0 and 7 for Sunday, and when both day of month and day of week are restricted
//!   a day matching either runs. Six- and seven-field lines (seconds first, optional year)
//!   are passed to the `cron` crate as written, where day of week 1 is Sunday.

mod cron_line;
mod dst;
mod parse;
mod scheduler;
pub mod store;
pub mod timetable;
mod weekdays;

pub use scheduler::{Scheduler, SchedulerHandle};
pub use store::{NewSchedule, Schedule, ScheduleChanges, ScheduleFilter, Schedules};
pub use timetable::{IntervalUnit, ScheduleConfig};

#[cfg(test)]
mod tests;
