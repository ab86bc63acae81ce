//! Running a function: access check, call record, timeout, panic containment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::calls::{self, CallStatus, FinishedCall, StartedCall};
use super::{AuthLevel, Context, FunctionDescriptor, FunctionRegistry, Trigger};
use crate::auth::Caller;
use crate::collections::Service;
use crate::db::{Database, now};
use crate::realtime::Realtime;
use crate::{Error, ErrorKind, Result};

/// How and by whom a function is invoked.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Why it runs.
    pub trigger: Trigger,
    /// The schedule's id for scheduled runs.
    pub trigger_id: Option<String>,
    /// Who calls it.
    pub caller: Caller,
    /// The HTTP request id, for calls over HTTP.
    pub request_id: Option<String>,
}

impl Invocation {
    /// A call by `caller` over HTTP or from code.
    pub fn manual(caller: Caller) -> Self {
        Self {
            trigger: Trigger::Manual,
            trigger_id: None,
            caller,
            request_id: None,
        }
    }
}

/// The result of asking for a call.
#[derive(Debug)]
pub struct CallResult {
    /// The call record's id; `None` when the call never started (unknown function,
    /// access denied).
    pub call_id: Option<String>,
    /// When the call started, as its record says; `None` when it never started.
    pub started_at: Option<DateTime<Utc>>,
    /// The function's JSON output, or why there is none.
    pub output: Result<Value>,
}

/// Runs registered functions and records every call.
#[derive(Clone)]
pub struct Executor {
    db: Database,
    collections: Service,
    realtime: Realtime,
    registry: Arc<FunctionRegistry>,
    default_timeout: Option<Duration>,
}

impl Executor {
    /// An executor for `registry`; `default_timeout_seconds` of 0 means no timeout.
    pub fn new(
        db: Database,
        collections: Service,
        registry: FunctionRegistry,
        default_timeout_seconds: u64,
    ) -> Self {
        Self {
            realtime: Realtime::new(db.clone(), collections.clone()),
            db,
            collections,
            registry: Arc::new(registry),
            default_timeout: timeout_from(default_timeout_seconds),
        }
    }

    /// The realtime hub functions publish through.
    pub fn realtime(&self) -> &Realtime {
        &self.realtime
    }

    /// The registered functions.
    pub fn registry(&self) -> &FunctionRegistry {
        &self.registry
    }

    /// Whether `caller` may call a function with `auth` (scheduled runs pass as system).
    ///
    /// # Errors
    /// 401 when a signed-in caller is needed, 403 when an admin is.
    pub fn check_access(auth: AuthLevel, caller: &Caller) -> Result<()> {
        match auth {
            AuthLevel::Public => Ok(()),
            AuthLevel::Auth => caller.require_signed_in(),
            AuthLevel::Admin => caller.require_admin(),
        }
    }

    /// Calls `name` with `input`: checks access, records the call, runs it under the
    /// timeout with panics contained, and records the outcome.
    pub async fn call(&self, name: &str, input: Value, invocation: Invocation) -> CallResult {
        let Some(descriptor) = self.registry.get(name) else {
            return CallResult {
                call_id: None,
                started_at: None,
                output: Err(Error::not_found(format!("no function named `{name}`"))),
            };
        };
        if let Err(err) = Self::check_access(descriptor.auth, &invocation.caller) {
            return CallResult {
                call_id: None,
                started_at: None,
                output: Err(err),
            };
        }
        let call_id = Uuid::now_v7().to_string();
        let started_at = now();
        let output = self
            .run(descriptor, &call_id, started_at, input, invocation)
            .await;
        CallResult {
            call_id: Some(call_id),
            started_at: Some(started_at),
            output,
        }
    }

    async fn run(
        &self,
        descriptor: &'static FunctionDescriptor,
        call_id: &str,
        started_at: DateTime<Utc>,
        input: Value,
        invocation: Invocation,
    ) -> Result<Value> {
        calls::start(
            &self.db,
            StartedCall {
                id: call_id,
                function_name: descriptor.name,
                trigger: invocation.trigger,
                trigger_id: invocation.trigger_id.as_deref(),
                user_id: invocation.caller.user_id.as_deref(),
                started_at,
            },
        )
        .await?;
        let context = Context {
            function_name: descriptor.name.to_owned(),
            call_id: call_id.to_owned(),
            trigger: invocation.trigger,
            trigger_id: invocation.trigger_id,
            request_id: invocation.request_id,
            caller: invocation.caller,
            now: started_at,
            db: self.db.clone(),
            collections: self.collections.clone(),
            realtime: self.realtime.clone(),
        };
        let timeout = match descriptor.timeout_seconds {
            Some(seconds) => timeout_from(seconds),
            None => self.default_timeout,
        };
        let clock = Instant::now();
        let (output, error_type) = execute(descriptor, context, input, timeout).await;
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let finished = match &output {
            Ok(_) => FinishedCall {
                status: CallStatus::Succeeded,
                duration_ms,
                error_type: None,
                error_message: None,
            },
            Err(err) => FinishedCall {
                status: CallStatus::Failed,
                duration_ms,
                error_type: Some(error_type.unwrap_or(err.code()).to_owned()),
                error_message: Some(err.to_string()),
            },
        };
        match &output {
            Ok(_) => tracing::debug!(
                function = descriptor.name,
                call_id,
                duration_ms,
                "function call succeeded"
            ),
            Err(err) => tracing::warn!(
                function = descriptor.name,
                call_id,
                duration_ms,
                error = %err,
                "function call failed"
            ),
        }
        // The function has run; failing to record the outcome must not change its answer.
        if let Err(err) = calls::finish(&self.db, call_id, finished).await {
            tracing::error!(call_id, error = %err, "could not record the end of a function call");
        }
        output
    }
}

fn timeout_from(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// Runs the handler on its own task, so a panic unwinds only that task and is reported
/// here instead of tearing down the connection. Returns the output and, for panics and
/// timeouts, the error type to record.
async fn execute(
    descriptor: &'static FunctionDescriptor,
    context: Context,
    input: Value,
    timeout: Option<Duration>,
) -> (Result<Value>, Option<&'static str>) {
    let task = tokio::spawn((descriptor.handler)(context, input));
    let abort = task.abort_handle();
    let joined = match timeout {
        Some(limit) => match tokio::time::timeout(limit, task).await {
            Ok(joined) => joined,
            Err(_) => {
                // A blocking (non-async) function keeps its thread until it returns; the
                // caller gets the timeout now regardless.
                abort.abort();
                let err = Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "function `{}` timed out after {} s",
                        descriptor.name,
                        limit.as_secs()
                    ),
                );
                return (Err(err), Some("timeout"));
            }
        },
        None => task.await,
    };
    match joined {
        Ok(output) => (output, None),
        Err(join) if join.is_panic() => {
            let payload = join.into_panic();
            let detail = crate::error::panic_text(payload.as_ref());
            (
                Err(Error::internal(format!(
                    "function `{}` panicked: {detail}",
                    descriptor.name
                ))),
                Some("panic"),
            )
        }
        Err(join) => (Err(Error::internal(join)), None),
    }
}
