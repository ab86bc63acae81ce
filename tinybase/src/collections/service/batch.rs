//! Batches: several record writes in one transaction, all applied or none.
//!
//! Each operation gets exactly the checks it would get alone (rules, validation,
//! relations, uniqueness), in order, so a later one sees what an earlier one wrote. The
//! first that fails rolls the whole batch back, and its error names its `index`. The
//! change log holds the batch's writes only once it commits.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::Service;
use super::relations::Released;
use crate::auth::Caller;
use crate::collections::model::Record;
use crate::collections::rules::{Action, Scope, authorize};
use crate::storage::deletions;
use crate::{Error, ErrorKind, FieldErrors, Result};

/// The most operations one batch may hold.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// One record write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOperation {
    /// Create a record of `collection` from `data`.
    Create {
        /// The collection's name.
        collection: String,
        /// The record's data.
        data: Map<String, Value>,
    },
    /// Merge `patch` into record `id` of `collection`.
    Update {
        /// The collection's name.
        collection: String,
        /// The record's id.
        id: String,
        /// The fields to change; null removes one.
        patch: Map<String, Value>,
    },
    /// Delete record `id` of `collection`.
    Delete {
        /// The collection's name.
        collection: String,
        /// The record's id.
        id: String,
    },
}

impl BatchOperation {
    fn collection(&self) -> &str {
        match self {
            Self::Create { collection, .. }
            | Self::Update { collection, .. }
            | Self::Delete { collection, .. } => collection,
        }
    }

    fn action(&self) -> Action {
        match self {
            Self::Create { .. } => Action::Create,
            Self::Update { .. } => Action::Update,
            Self::Delete { .. } => Action::Delete,
        }
    }
}

/// What one operation of a committed batch did.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    /// The record was created.
    Created(Record),
    /// The record was changed.
    Updated(Record),
    /// The record was deleted.
    Deleted,
}

/// What the transaction hands back for announcing after the commit.
#[derive(Default)]
struct Committed {
    outcomes: Vec<BatchOutcome>,
    seqs: Vec<i64>,
    /// Rows added or removed per collection id (for the planner's statistics).
    changed: HashMap<String, u64>,
    /// File keys to delete now that the writes hold.
    dropped: Vec<String>,
}

impl Service {
    /// Runs `operations` as `caller` in one transaction: every one or none.
    ///
    /// # Errors
    /// 422 for no operations or more than [`MAX_BATCH_OPERATIONS`]; otherwise the error
    /// the first failing operation would get alone (404, 401/403, 413, 422, 409…), with
    /// `details.index` naming it (from 0). Nothing is written then.
    pub async fn batch(
        &self,
        caller: &Caller,
        operations: Vec<BatchOperation>,
    ) -> Result<Vec<BatchOutcome>> {
        check_batch_size(operations.len())?;
        // Cheap checks first, so a bad batch never waits for the writer.
        let mut scopes = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let scope = self
                .precheck(caller, operation)
                .map_err(|err| batch_error_at(err, index))?;
            scopes.push(scope);
        }
        let service = self.clone();
        let caller = caller.clone();
        let committed = self
            .db
            .write(move |tx| {
                let mut committed = Committed::default();
                for (index, (operation, scope)) in operations.into_iter().zip(scopes).enumerate() {
                    service
                        .apply_one(tx, &caller, operation, &scope, &mut committed)
                        .map_err(|err| batch_error_at(err, index))?;
                }
                Ok(committed)
            })
            .await?;
        if let Some(&seq) = committed.seqs.iter().max() {
            self.changes.committed(seq);
        }
        for (collection_id, rows) in &committed.changed {
            self.db.note_changed_records(collection_id, *rows);
        }
        deletions::delete_now(&self.db, &self.store, committed.dropped).await;
        Ok(committed.outcomes)
    }

    /// The checks that need no transaction: the collection, the keyword rule, the id,
    /// the body's size.
    fn precheck(&self, caller: &Caller, operation: &BatchOperation) -> Result<Scope> {
        let loaded = self.require(operation.collection())?;
        let scope = authorize(
            loaded.collection.options.rule_for(operation.action()),
            caller,
        )?;
        match operation {
            BatchOperation::Create { collection, data }
            | BatchOperation::Update {
                collection,
                patch: data,
                ..
            } => self.check_record_body(collection, serde_json::to_vec(data)?.len())?,
            BatchOperation::Delete { .. } => {}
        }
        if let BatchOperation::Update { id, .. } | BatchOperation::Delete { id, .. } = operation {
            super::records::record_id(id)?;
        }
        Ok(scope)
    }

    fn apply_one(
        &self,
        tx: &rusqlite::Connection,
        caller: &Caller,
        operation: BatchOperation,
        scope: &Scope,
        committed: &mut Committed,
    ) -> Result<()> {
        match operation {
            BatchOperation::Create { collection, data } => {
                let (record, collection_id, seq) =
                    self.create_in(tx, caller, &collection, None, data, &[], &[])?;
                committed.seqs.push(seq);
                *committed.changed.entry(collection_id).or_default() += 1;
                committed.outcomes.push(BatchOutcome::Created(record));
            }
            BatchOperation::Update {
                collection,
                id,
                patch,
            } => {
                let id = super::records::record_id(&id)?;
                let (record, seq, dropped) =
                    self.update_in(tx, caller, scope, &collection, &id, patch, &[], &[])?;
                committed.seqs.push(seq);
                committed.dropped.extend(dropped);
                committed.outcomes.push(BatchOutcome::Updated(record));
            }
            BatchOperation::Delete { collection, id } => {
                // Read again: an earlier operation of the batch may not change a schema,
                // but the registry is the one source of truth for the writer.
                let loaded = self.require(&collection)?;
                let id = super::records::record_id(&id)?;
                let rules =
                    self.record_rules(&loaded, caller, &[Action::View, Action::Delete], None)?;
                let (released, dropped): (Released, Vec<String>) =
                    self.delete_in(tx, &loaded, caller, scope, &rules, &id)?;
                committed.seqs.extend(released.seqs);
                for (collection_id, rows) in released.deleted {
                    *committed.changed.entry(collection_id).or_default() += rows;
                }
                committed.dropped.extend(dropped);
                committed.outcomes.push(BatchOutcome::Deleted);
            }
        }
        Ok(())
    }
}

/// Refuses a batch of `count` operations: none, or more than [`MAX_BATCH_OPERATIONS`].
///
/// # Errors
/// 422 naming `requests`.
pub fn check_batch_size(count: usize) -> Result<()> {
    let problem = match count {
        0 => "a batch needs at least one request".to_owned(),
        n if n > MAX_BATCH_OPERATIONS => {
            format!("a batch holds at most {MAX_BATCH_OPERATIONS} requests, not {n}")
        }
        _ => return Ok(()),
    };
    let mut fields = FieldErrors::default();
    fields.add("requests", problem.clone());
    Err(Error::validation(problem, fields))
}

/// `err` with `details.index` set to `index` (other details kept), for the batch
/// operation at `index`. Internal errors are left as they are: their details are never
/// shown.
pub fn batch_error_at(err: Error, index: usize) -> Error {
    if err.kind() == ErrorKind::Internal {
        return err;
    }
    let mut details = match err.details() {
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            let mut map = Map::new();
            map.insert("details".to_owned(), other.clone());
            map
        }
        None => Map::new(),
    };
    details.insert("index".to_owned(), Value::from(index));
    let message = format!("request {index}: {}", err.message());
    Error::new(err.kind(), message)
        .with_code(err.code())
        .with_details(Value::Object(details))
}
