//! The call history: one `function_calls` row per execution, written as `running` when
//! it starts and completed when it ends. Inputs and outputs are never stored.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Trigger;
use crate::db::{Database, format_timestamp, now, parse_optional_timestamp, parse_timestamp};
use crate::pagination::{Page, Pagination, newest_first};
use crate::{Error, Result};

/// The longest error message kept in a call record, in characters.
const MAX_ERROR_MESSAGE_CHARS: usize = 2_000;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// Started and not finished (or the process died while it ran).
    Running,
    /// Returned `Ok`.
    Succeeded,
    /// Returned an error, panicked or timed out.
    Failed,
}

impl CallStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> rusqlite::Result<Self> {
        match text {
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            other => Err(rusqlite::Error::InvalidColumnType(
                2,
                format!("status {other}"),
                rusqlite::types::Type::Text,
            )),
        }
    }
}

/// One execution of a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionCall {
    /// UUIDv7 of the call.
    pub id: String,
    /// The function that ran.
    pub function_name: String,
    /// `running`, `succeeded` or `failed`.
    pub status: CallStatus,
    /// `manual` (HTTP or code) or `schedule`.
    pub trigger_type: Trigger,
    /// The schedule's id for scheduled runs.
    pub trigger_id: Option<String>,
    /// The user who called it, if any.
    pub requested_by_user_id: Option<String>,
    /// When it started (UTC).
    pub started_at: DateTime<Utc>,
    /// When it ended (UTC).
    pub finished_at: Option<DateTime<Utc>>,
    /// How long it ran, in milliseconds.
    pub duration_ms: Option<i64>,
    /// For failures: the error code (`validation_failed`, `internal_error`, …), `panic` or `timeout`.
    pub error_type: Option<String>,
    /// For failures: what went wrong.
    pub error_message: Option<String>,
    /// When the record was written (UTC).
    pub created_at: DateTime<Utc>,
}

const CALL_COLUMNS: &str = "id, function_name, status, trigger_type, trigger_id, \
    requested_by_user_id, started_at, finished_at, duration_ms, error_type, error_message, created_at";

fn call_from_row(row: &Row<'_>) -> rusqlite::Result<FunctionCall> {
    let optional_time = |i: usize| parse_optional_timestamp(row.get(i)?);
    let trigger_type = match row.get::<_, String>(3)?.as_str() {
        "schedule" => Trigger::Schedule,
        _ => Trigger::Manual,
    };
    Ok(FunctionCall {
        id: row.get(0)?,
        function_name: row.get(1)?,
        status: CallStatus::parse(&row.get::<_, String>(2)?)?,
        trigger_type,
        trigger_id: row.get(4)?,
        requested_by_user_id: row.get(5)?,
        started_at: parse_timestamp(&row.get::<_, String>(6)?)?,
        finished_at: optional_time(7)?,
        duration_ms: row.get(8)?,
        error_type: row.get(9)?,
        error_message: row.get(10)?,
        created_at: parse_timestamp(&row.get::<_, String>(11)?)?,
    })
}

/// A new `running` call.
pub(crate) struct StartedCall<'a> {
    pub(crate) id: &'a str,
    pub(crate) function_name: &'a str,
    pub(crate) trigger: Trigger,
    pub(crate) trigger_id: Option<&'a str>,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) started_at: DateTime<Utc>,
}

/// Records that a call started.
pub(crate) async fn start(db: &Database, call: StartedCall<'_>) -> Result<()> {
    let started_at = format_timestamp(call.started_at);
    let values = (
        call.id.to_owned(),
        call.function_name.to_owned(),
        call.trigger.as_str(),
        call.trigger_id.map(str::to_owned),
        call.user_id.map(str::to_owned),
    );
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO function_calls (id, function_name, status, trigger_type, trigger_id,
                 requested_by_user_id, started_at, created_at)
             VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?6)",
            params![values.0, values.1, values.2, values.3, values.4, started_at],
        )?;
        Ok(())
    })
    .await
}

/// How a call ended.
pub(crate) struct FinishedCall {
    pub(crate) status: CallStatus,
    pub(crate) duration_ms: i64,
    pub(crate) error_type: Option<String>,
    pub(crate) error_message: Option<String>,
}

/// Records how a call ended.
pub(crate) async fn finish(db: &Database, id: &str, finished: FinishedCall) -> Result<()> {
    let id = id.to_owned();
    let message = finished
        .error_message
        .map(|m| m.chars().take(MAX_ERROR_MESSAGE_CHARS).collect::<String>());
    db.write(move |tx| {
        tx.execute(
            "UPDATE function_calls SET status = ?2, finished_at = ?3, duration_ms = ?4,
                 error_type = ?5, error_message = ?6
             WHERE id = ?1",
            params![
                id,
                finished.status.as_str(),
                format_timestamp(now()),
                finished.duration_ms,
                finished.error_type,
                message
            ],
        )?;
        Ok(())
    })
    .await
}

/// Which calls to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallFilter {
    /// Only calls of this function.
    pub function_name: Option<String>,
    /// Only calls with this status.
    pub status: Option<CallStatus>,
    /// Only calls with this trigger.
    pub trigger_type: Option<Trigger>,
    /// Only calls started at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only calls started before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// The call history: what functions ran, when, for whom and how it went.
#[derive(Clone)]
pub struct Calls {
    db: Database,
}

impl Calls {
    /// The call history in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Marks calls left `running` by a process that died as failed. Run at start-up, before
    /// anything can start a call.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn fail_interrupted(&self) -> Result<usize> {
        self.db
            .write(|tx| {
                Ok(tx.execute(
                    "UPDATE function_calls SET status = 'failed', finished_at = ?1,
                 error_type = 'interrupted',
                 error_message = 'the server stopped while the function was running'
             WHERE status = 'running'",
                    [format_timestamp(now())],
                )?)
            })
            .await
    }

    /// One page of calls, newest first.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn list(&self, filter: CallFilter, page: Pagination) -> Result<Page<FunctionCall>> {
        self.db
            .read(move |conn| {
                let status = filter.status.map(CallStatus::as_str);
                let trigger = filter.trigger_type.map(Trigger::as_str);
                let since = filter.since.map(format_timestamp);
                let until = filter.until.map(format_timestamp);
                newest_first(
                    conn,
                    "function_calls",
                    CALL_COLUMNS,
                    "(?1 IS NULL OR function_name = ?1) AND (?2 IS NULL OR status = ?2)
             AND (?3 IS NULL OR trigger_type = ?3) AND (?4 IS NULL OR started_at >= ?4)
             AND (?5 IS NULL OR started_at < ?5)",
                    params![filter.function_name, status, trigger, since, until],
                    page,
                    call_from_row,
                )
            })
            .await
    }

    /// One call.
    ///
    /// # Errors
    /// 404 when there is no such call.
    pub async fn get(&self, id: &str) -> Result<FunctionCall> {
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {CALL_COLUMNS} FROM function_calls WHERE id = ?1"),
                    [&id],
                    call_from_row,
                )
                .optional()?
                .ok_or_else(|| Error::not_found("no function call with this id"))
            })
            .await
    }

    /// Deletes finished calls that started more than `days` days ago; returns how many.
    /// Calls still running are kept whatever their age.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn prune_older_than(&self, days: u32) -> Result<usize> {
        let cutoff = format_timestamp(now() - chrono::Duration::days(i64::from(days)));
        self.db
            .write(move |tx| {
                Ok(tx.execute(
                    "DELETE FROM function_calls WHERE started_at < ?1 AND status != 'running'",
                    [cutoff],
                )?)
            })
            .await
    }
}
