//! `before_*` hooks: what they see of the write, and how they are run on the writer
//! thread within their time budget.

use std::future::Future;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::HookEvent;
use crate::auth::Caller;
use crate::collections::Record;
use crate::{Error, ErrorKind, Result};

/// A record write about to happen, as a `before_*` hook sees it.
///
/// The hook runs inside the write's transaction on the database writer thread, before the
/// data is validated. It may change the data ([`BeforeWrite::data_mut`]), read the
/// database as the transaction sees it ([`BeforeWrite::conn`]), or return an
/// [`Error`] to refuse the write: nothing is written, and the client gets the error's
/// status and message.
pub struct BeforeWrite<'a> {
    pub(crate) event: HookEvent,
    pub(crate) collection: &'a str,
    pub(crate) record_id: Option<&'a str>,
    pub(crate) data: &'a mut Map<String, Value>,
    pub(crate) existing: Option<&'a Record>,
    pub(crate) caller: &'a Caller,
    pub(crate) conn: &'a Connection,
    pub(crate) driver: Driver,
}

impl std::fmt::Debug for BeforeWrite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeforeWrite")
            .field("event", &self.event)
            .field("collection", &self.collection)
            .field("record_id", &self.record_id)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl BeforeWrite<'_> {
    /// `before_create`, `before_update` or `before_delete`.
    pub fn event(&self) -> HookEvent {
        self.event
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        self.collection
    }

    /// The record's id: `None` on create unless the id was chosen up front (uploads).
    pub fn record_id(&self) -> Option<&str> {
        self.record_id
    }

    /// The data to be written: on create the whole record's data; on update only the
    /// fields being changed (a field set to `null` is removed); on delete the record's
    /// data as stored.
    pub fn data(&self) -> &Map<String, Value> {
        self.data
    }

    /// The data to be written, to change it. It is validated after the hook like the
    /// client's own data. On delete, changes are ignored.
    pub fn data_mut(&mut self) -> &mut Map<String, Value> {
        self.data
    }

    /// Sets one field of the data to be written.
    pub fn set(&mut self, field: &str, value: impl Into<Value>) {
        self.data.insert(field.to_owned(), value.into());
    }

    /// The record as stored before this write: `None` on create.
    pub fn existing(&self) -> Option<&Record> {
        self.existing
    }

    /// Who asks for the write (`Caller::system()` for trusted server-side work).
    pub fn caller(&self) -> &Caller {
        self.caller
    }

    /// The write transaction, for reading what it sees (other records, users). Write
    /// records through the record service instead: rows written here bypass validation
    /// and the change log.
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    /// What an `async fn` hook is driven with (used by the generated code).
    #[doc(hidden)]
    pub fn driver(&self) -> Driver {
        self.driver.clone()
    }
}

/// Drives an `async fn` hook to completion on the writer thread within its budget.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Driver {
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    pub(crate) budget: Duration,
}

impl Driver {
    /// Runs `future` to completion, or fails once the budget is spent.
    ///
    /// The writer thread is a plain OS thread, not one of the runtime's workers, so
    /// blocking it here never stalls other tasks; the runtime's timers and sockets still
    /// serve the future.
    ///
    /// # Errors
    /// The hook's own error; a timeout past the budget; an internal error when no runtime
    /// is available.
    pub fn block_on<F, E>(&self, future: F) -> Result<()>
    where
        F: Future<Output = std::result::Result<(), E>>,
        E: Into<Error>,
    {
        let Some(runtime) = &self.runtime else {
            return Err(Error::internal(
                "an async before-hook ran without a Tokio runtime to drive it",
            ));
        };
        let _guard = runtime.enter();
        match runtime.block_on(tokio::time::timeout(self.budget, future)) {
            Ok(outcome) => outcome.map_err(Into::into),
            Err(_) => Err(over_budget(self.budget)),
        }
    }
}

/// Runs one hook and checks its time: a plain `fn` cannot be stopped while it runs, so a
/// hook over budget still fails its write once it returns.
pub(crate) fn run_within_budget(
    name: &str,
    handler: super::BeforeHandler,
    write: &mut BeforeWrite<'_>,
) -> Result<()> {
    let started = Instant::now();
    let outcome = handler(write);
    let budget = write.driver.budget;
    if outcome.is_ok() && started.elapsed() > budget {
        tracing::warn!(
            hook = name,
            elapsed_ms = started.elapsed().as_millis(),
            "a before-hook ran over its budget"
        );
        return Err(over_budget(budget));
    }
    outcome
}

fn over_budget(budget: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "a before-hook ran longer than its {} ms budget; nothing was written",
            budget.as_millis()
        ),
    )
}
