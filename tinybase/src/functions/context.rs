//! What a function sees of the world: who called it, why, and the database.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Result;
use crate::auth::Caller;
use crate::collections::{Record, RecordQuery, Service};
use crate::db::Database;
use crate::pagination::Page;
use crate::realtime::Realtime;

/// Why a function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Called over HTTP (or from code) by a user.
    Manual,
    /// Run by a schedule.
    Schedule,
}

impl Trigger {
    /// The name stored in call records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Schedule => "schedule",
        }
    }
}

/// The context of one function call.
#[derive(Clone)]
pub struct Context {
    pub(crate) function_name: String,
    pub(crate) call_id: String,
    pub(crate) trigger: Trigger,
    pub(crate) trigger_id: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) caller: Caller,
    pub(crate) now: DateTime<Utc>,
    pub(crate) db: Database,
    pub(crate) collections: Service,
    pub(crate) realtime: Realtime,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("function_name", &self.function_name)
            .field("call_id", &self.call_id)
            .field("trigger", &self.trigger)
            .field("trigger_id", &self.trigger_id)
            .field("request_id", &self.request_id)
            .field("caller", &self.caller)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The function's name.
    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// The id of this call's record in the call history.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Why the function runs.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// The schedule's id for scheduled runs.
    pub fn trigger_id(&self) -> Option<&str> {
        self.trigger_id.as_deref()
    }

    /// The HTTP request id (`x-request-id`) for calls over HTTP.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The calling user's id; `None` for anonymous and scheduled calls.
    pub fn user_id(&self) -> Option<&str> {
        self.caller.user_id.as_deref()
    }

    /// Whether the caller is an admin (scheduled runs count as admin).
    pub fn is_admin(&self) -> bool {
        self.caller.is_admin
    }

    /// The caller, as the collection rules see them.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// When the call started (UTC).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Realtime: `ctx.realtime().publish("channel", json)` sends a message to every
    /// client subscribed to that channel.
    pub fn realtime(&self) -> &Realtime {
        &self.realtime
    }

    /// Direct database access, for what collections do not cover. Use
    /// [`Database::read`]/[`Database::write`]: they keep SQLite off the async executor
    /// and serialise writes.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The collections service itself, for defining collections from code (pass a
    /// [`Caller`], e.g. `Caller::system()`, to its methods).
    pub fn collections(&self) -> &Service {
        &self.collections
    }

    /// Records, acting as the caller: the collections' access rules apply exactly as they
    /// do over HTTP.
    pub fn records(&self) -> Records<'_> {
        Records {
            service: &self.collections,
            caller: self.caller.clone(),
        }
    }

    /// Typed records of a code-first collection (`#[derive(tinybase::Collection)]`),
    /// acting as the caller: the same validation, access rules and hooks as over HTTP.
    ///
    /// ```no_run
    /// # use tinybase::serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, tinybase::Collection)]
    /// # #[serde(crate = "tinybase::serde")]
    /// # #[collection(name = "notes")]
    /// # struct Note { text: String }
    /// # async fn example(ctx: tinybase::Context) -> tinybase::Result<()> {
    /// let note = ctx.collection::<Note>().create(&Note { text: "hi".into() }).await?;
    /// assert_eq!(note.data.text, "hi");
    /// # Ok(()) }
    /// ```
    pub fn collection<T: crate::code_first::Collection>(
        &self,
    ) -> crate::code_first::TypedRecords<'_, T> {
        crate::code_first::TypedRecords::new(self.records())
    }

    /// Records with every access rule passed — for trusted server-side work. Validation
    /// still applies.
    pub fn records_as_system(&self) -> Records<'_> {
        Records {
            service: &self.collections,
            caller: Caller::system(),
        }
    }
}

/// Record operations as one caller, with the same validation and errors as the HTTP API.
pub struct Records<'a> {
    service: &'a Service,
    caller: Caller,
}

impl<'a> Records<'a> {
    /// Record operations on `service` as `caller`.
    pub(crate) fn new(service: &'a Service, caller: Caller) -> Self {
        Self { service, caller }
    }
}

impl Records<'_> {
    /// Lists records like `GET /api/collections/{name}/records`.
    ///
    /// # Errors
    /// As the HTTP endpoint: 404, 401/403, 400 for a bad filter or sort.
    pub async fn list(&self, collection: &str, query: RecordQuery) -> Result<Page<Record>> {
        self.service
            .list_records(&self.caller, collection, query)
            .await
    }

    /// Reads one record.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the view rule.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Record> {
        self.service.get_record(&self.caller, collection, id).await
    }

    /// Creates a record from a JSON object (e.g. `serde_json::json!({...})`).
    ///
    /// # Errors
    /// 422 for invalid data (or data that is not an object), 409 for a duplicate unique
    /// value, 404/401/403 as over HTTP.
    pub async fn create(&self, collection: &str, data: Value) -> Result<Record> {
        let data = object(data)?;
        self.service
            .create_record(&self.caller, collection, data)
            .await
    }

    /// Merges `patch` (a JSON object; null removes a field) into a record.
    ///
    /// # Errors
    /// As [`Records::create`], plus 404 for an unknown record.
    pub async fn update(&self, collection: &str, id: &str, patch: Value) -> Result<Record> {
        let patch = object(patch)?;
        self.service
            .update_record(&self.caller, collection, id, patch)
            .await
    }

    /// Deletes a record.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the delete rule.
    pub async fn delete(&self, collection: &str, id: &str) -> Result<()> {
        self.service
            .delete_record(&self.caller, collection, id)
            .await
    }

    /// Adds a file to a record's `file` (replacing its file) or `list[file]` field, with
    /// the checks an upload gets; `filename` is the original name (it is sanitised and
    /// given a random suffix). Returns the updated record.
    ///
    /// # Errors
    /// As an upload over HTTP: 413 over `max_size`, 422 for a type outside `mime_types`
    /// or a field that is not a file field, 404/401/403 from the update rule.
    pub async fn attach_file(
        &self,
        collection: &str,
        id: &str,
        field: &str,
        filename: &str,
        bytes: impl Into<bytes::Bytes>,
    ) -> Result<Record> {
        self.service
            .attach_file(&self.caller, collection, id, field, filename, bytes.into())
            .await
    }

    /// Reads a file of a record (its stored name, as in the record's data).
    ///
    /// # Errors
    /// 404 for an unknown collection, record or file, 401/403 from the view rule.
    pub async fn read_file(&self, collection: &str, id: &str, name: &str) -> Result<bytes::Bytes> {
        self.service
            .read_file(&self.caller, collection, id, name)
            .await
    }
}

fn object(value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(crate::Error::invalid_field("body", "must be a JSON object")),
    }
}
