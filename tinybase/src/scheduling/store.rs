//! Schedules as stored: create, read, list, change and delete, with every check a
//! schedule must pass before it is saved.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{ScheduleConfig, SchedulerHandle};
use crate::db::{Database, format_timestamp, now, parse_optional_timestamp, parse_timestamp};
use crate::functions::Executor;
use crate::pagination::{Page, Pagination, newest_first};
use crate::{Error, FieldErrors, Result};

/// The longest schedule name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A function run on a timetable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Schedule {
    /// UUIDv7 of the schedule.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// The function it runs.
    pub function_name: String,
    /// When it runs.
    pub schedule: ScheduleConfig,
    /// The input each run gets (checked against the function's input type on save).
    pub input: Option<Value>,
    /// Inactive schedules do not run.
    pub is_active: bool,
    /// When it last started a run (UTC).
    pub last_run_at: Option<DateTime<Utc>>,
    /// When it runs next (UTC); `null` when inactive or finished.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The admin who created it.
    pub created_by_user_id: Option<String>,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When it last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A schedule to create.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// A name for people (1–200 characters).
    pub name: String,
    /// A registered function.
    pub function_name: String,
    /// When it runs.
    pub schedule: ScheduleConfig,
    /// The input each run gets.
    #[serde(default)]
    pub input: Option<Value>,
    /// Whether it runs (default true).
    #[serde(default = "active_by_default")]
    pub is_active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Changes to a schedule; omitted fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleChanges {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New function.
    #[serde(default)]
    pub function_name: Option<String>,
    /// New timetable; the next run is computed afresh from now.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// New input; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Value>")]
    pub input: Option<Option<Value>>,
    /// Switch it on or off.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(deserializer).map(Some)
}

/// Which schedules to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleFilter {
    /// Only schedules of this function.
    pub function_name: Option<String>,
    /// Only active (or inactive) schedules.
    pub is_active: Option<bool>,
}

pub(super) const SCHEDULE_COLUMNS: &str = "id, name, function_name, schedule, input, is_active, \
    last_run_at, next_run_at, created_by_user_id, created_at, updated_at";

pub(super) fn schedule_from_row(row: &Row<'_>) -> rusqlite::Result<Schedule> {
    let json_error = |index: usize| {
        move |err: serde_json::Error| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(err),
            )
        }
    };
    let optional_time = |i: usize| parse_optional_timestamp(row.get(i)?);
    Ok(Schedule {
        id: row.get(0)?,
        name: row.get(1)?,
        function_name: row.get(2)?,
        schedule: serde_json::from_str(&row.get::<_, String>(3)?).map_err(json_error(3))?,
        input: row
            .get::<_, Option<String>>(4)?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(json_error(4))?,
        is_active: row.get(5)?,
        last_run_at: optional_time(6)?,
        next_run_at: optional_time(7)?,
        created_by_user_id: row.get(8)?,
        created_at: parse_timestamp(&row.get::<_, String>(9)?)?,
        updated_at: parse_timestamp(&row.get::<_, String>(10)?)?,
    })
}

/// Everything a schedule must pass before it is saved, reported together (422). A
/// once-moment at or before `not_before` is refused; `None` skips that check (an edit that
/// leaves the timing alone may keep a moment that has passed).
fn check(
    executor: &Executor,
    name: &str,
    function_name: &str,
    config: &ScheduleConfig,
    input: Option<&Value>,
    not_before: Option<DateTime<Utc>>,
) -> Result<()> {
    let mut problems = FieldErrors::default();
    let name_chars = name.trim().chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS {
        problems.add("name", format!("must be 1 to {MAX_NAME_CHARS} characters"));
    }
    if let Err(err) = config.validate() {
        merge_fields(&mut problems, &err, "schedule");
    } else if let (Some(moment), Some(not_before)) = (config.once_moment(), not_before)
        && moment <= not_before
    {
        problems.add("schedule.date", "the moment is in the past");
    }
    match executor.registry().get(function_name) {
        None => problems.add(
            "function_name",
            format!("no function named `{function_name}` is registered"),
        ),
        Some(descriptor) => {
            let input = input.cloned().unwrap_or(Value::Null);
            if let Err(err) = (descriptor.validate_input)(&input) {
                merge_fields(&mut problems, &err, "input");
            }
        }
    }
    problems.into_result("the schedule is not valid")
}

/// Copies an error's per-field messages under `prefix` (or the message itself).
fn merge_fields(problems: &mut FieldErrors, err: &Error, prefix: &str) {
    let fields = err
        .details()
        .and_then(|d| d.get("fields"))
        .and_then(Value::as_object);
    match fields {
        Some(fields) if !fields.is_empty() => {
            for (field, message) in fields {
                let key = if field.starts_with(prefix) {
                    field.clone()
                } else if field == "body" {
                    prefix.to_owned()
                } else {
                    format!("{prefix}.{field}")
                };
                problems.add(key, message.as_str().unwrap_or("is not valid"));
            }
        }
        _ => problems.add(prefix, err.message()),
    }
}

fn next_run(config: &ScheduleConfig, is_active: bool, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if is_active {
        config.next_run_after(at)
    } else {
        None
    }
}

fn get_in(conn: &Connection, id: &str) -> Result<Schedule> {
    conn.query_row(
        &format!("SELECT {SCHEDULE_COLUMNS} FROM function_schedules WHERE id = ?1"),
        [id],
        schedule_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("no schedule with this id"))
}

fn to_json(value: &impl Serialize) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// Schedules as stored, for the admin API and anything else that changes them. Every
/// change wakes the scheduler itself, so no caller can forget to and leave a new
/// timetable waiting for the next poll.
#[derive(Clone)]
pub struct Schedules {
    db: Database,
    executor: Executor,
    scheduler: SchedulerHandle,
}

impl Schedules {
    /// Schedules over `db`, checked against the functions `executor` runs, waking
    /// `scheduler` on every change.
    pub fn new(db: Database, executor: Executor, scheduler: SchedulerHandle) -> Self {
        Self {
            db,
            executor,
            scheduler,
        }
    }

    /// The handle the scheduler task listens on.
    pub(crate) fn scheduler(&self) -> SchedulerHandle {
        self.scheduler.clone()
    }

    /// Creates a schedule and computes its first run.
    ///
    /// # Errors
    /// 422 listing every problem (name, timetable, a once-moment in the past, an unknown
    /// function, input the function would refuse).
    pub async fn create(&self, created_by: Option<&str>, new: NewSchedule) -> Result<Schedule> {
        let executor = &self.executor;
        let at = now();
        check(
            executor,
            &new.name,
            &new.function_name,
            &new.schedule,
            new.input.as_ref(),
            Some(at),
        )?;
        let schedule = Schedule {
            id: Uuid::now_v7().to_string(),
            name: new.name.trim().to_owned(),
            function_name: new.function_name,
            next_run_at: next_run(&new.schedule, new.is_active, at),
            schedule: new.schedule,
            input: new.input,
            is_active: new.is_active,
            last_run_at: None,
            created_by_user_id: created_by.map(str::to_owned),
            created_at: at,
            updated_at: at,
        };
        let row = schedule.clone();
        self.db
            .write(move |tx| {
                tx.execute(
            "INSERT INTO function_schedules (id, name, function_name, schedule, input, is_active,
                 next_run_at, created_by_user_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                row.id,
                row.name,
                row.function_name,
                to_json(&row.schedule)?,
                row.input.as_ref().map(to_json).transpose()?,
                row.is_active,
                row.next_run_at.map(format_timestamp),
                row.created_by_user_id,
                format_timestamp(at),
            ],
        )?;
                Ok(())
            })
            .await?;
        self.scheduler.wake();
        Ok(schedule)
    }

    /// One schedule.
    ///
    /// # Errors
    /// 404 when there is none.
    pub async fn get(&self, id: &str) -> Result<Schedule> {
        let id = id.to_owned();
        self.db.read(move |conn| get_in(conn, &id)).await
    }

    /// One page of schedules, newest first.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn list(&self, filter: ScheduleFilter, page: Pagination) -> Result<Page<Schedule>> {
        self.db
            .read(move |conn| {
                newest_first(
                    conn,
                    "function_schedules",
                    SCHEDULE_COLUMNS,
                    "(?1 IS NULL OR function_name = ?1) AND (?2 IS NULL OR is_active = ?2)",
                    params![filter.function_name, filter.is_active],
                    page,
                    schedule_from_row,
                )
            })
            .await
    }

    /// Applies `changes`; a new timetable or activation computes the next run from now.
    ///
    /// # Errors
    /// 404 for an unknown schedule, 422 as for [`Self::create`].
    pub async fn update(&self, id: &str, changes: ScheduleChanges) -> Result<Schedule> {
        let executor = &self.executor;
        let mut schedule = self.get(id).await?;
        let at = now();
        let timing_changed = changes.schedule.is_some()
            || changes
                .is_active
                .is_some_and(|active| active != schedule.is_active);
        if let Some(name) = changes.name {
            schedule.name = name.trim().to_owned();
        }
        if let Some(function_name) = changes.function_name {
            schedule.function_name = function_name;
        }
        if let Some(config) = changes.schedule {
            schedule.schedule = config;
        }
        if let Some(input) = changes.input {
            schedule.input = input;
        }
        if let Some(is_active) = changes.is_active {
            schedule.is_active = is_active;
        }
        check(
            executor,
            &schedule.name,
            &schedule.function_name,
            &schedule.schedule,
            schedule.input.as_ref(),
            (timing_changed && schedule.is_active).then_some(at),
        )?;
        if timing_changed {
            schedule.next_run_at = next_run(&schedule.schedule, schedule.is_active, at);
        }
        schedule.updated_at = at;
        let row = schedule.clone();
        self.db
            .write(move |tx| {
                let changed = tx.execute(
            "UPDATE function_schedules SET name = ?2, function_name = ?3, schedule = ?4, input = ?5,
                 is_active = ?6, next_run_at = ?7, updated_at = ?8
             WHERE id = ?1",
            params![
                row.id,
                row.name,
                row.function_name,
                to_json(&row.schedule)?,
                row.input.as_ref().map(to_json).transpose()?,
                row.is_active,
                row.next_run_at.map(format_timestamp),
                format_timestamp(row.updated_at),
            ],
        )?;
                if changed == 0 {
                    return Err(Error::not_found("no schedule with this id"));
                }
                Ok(())
            })
            .await?;
        self.scheduler.wake();
        Ok(schedule)
    }

    /// Deletes a schedule. A run in progress finishes; nothing runs after it.
    ///
    /// # Errors
    /// 404 for an unknown schedule.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.db
            .write(move |tx| {
                if tx.execute("DELETE FROM function_schedules WHERE id = ?1", [&id])? == 0 {
                    return Err(Error::not_found("no schedule with this id"));
                }
                Ok(())
            })
            .await?;
        self.scheduler.wake();
        Ok(())
    }
}
