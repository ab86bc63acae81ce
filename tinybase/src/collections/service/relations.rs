//! Relations that hold: what deleting a record does to the records that point at it
//! (`on_delete`: `restrict`, `cascade`, `set_null`), applied in the delete's own
//! transaction, and the check that cascades can never loop.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};
use serde_json::{Map, Value, json};

use super::Service;
use super::files::all_names;
use super::records::{RECORD_COLUMNS, log_change, record_from_row, stored_json};
use crate::changes::ChangeAction;
use crate::collections::filter::field_expression;
use crate::collections::indexes::collection_condition;
use crate::collections::model::Record;
use crate::collections::registry::LoadedCollection;
use crate::collections::schema::{CollectionSchema, FieldType, OnDelete};
use crate::db::{format_timestamp, now};
use crate::storage::{deletions, record_key};
use crate::{Error, FieldErrors, Result};

/// What a delete did beyond its own record.
#[derive(Debug, Default)]
pub(super) struct Released {
    /// The change log entries written, in order.
    pub(super) seqs: Vec<i64>,
    /// Records deleted per collection id (for the planner's statistics).
    pub(super) deleted: HashMap<String, u64>,
    /// Storage prefixes of cascaded records that held files: already recorded as pending
    /// deletions in the transaction, to be deleted from storage after the commit.
    pub(super) dropped_files: Vec<String>,
    /// Records already being deleted, so a hand-edited loop cannot recurse forever.
    visiting: HashSet<String>,
}

impl Service {
    /// Applies every relation's `on_delete` to the records pointing at `record` (of
    /// `loaded`), which is about to be deleted: refuses while a `restrict` relation points
    /// at it, deletes `cascade` referrers (and, in turn, theirs), removes `set_null`
    /// fields. Each write is appended to the change log.
    ///
    /// # Errors
    /// 409 naming the relations that still point at the record (or at a record a cascade
    /// would delete); internal errors from SQLite.
    pub(super) fn release_references(
        &self,
        tx: &Connection,
        loaded: &LoadedCollection,
        record: &Record,
        released: &mut Released,
    ) -> Result<()> {
        released.visiting.insert(record.id.clone());
        let mut restricting = Vec::new();
        for other in self.registry.all() {
            for (field, target, on_delete) in other.compiled.relations_on_delete() {
                if target != loaded.collection.name {
                    continue;
                }
                let referrers = referrers(tx, &other, field, &record.id)?;
                if referrers.is_empty() {
                    continue;
                }
                match on_delete {
                    OnDelete::Restrict => {
                        restricting.push(format!("{}.{field}", other.collection.name));
                    }
                    OnDelete::SetNull => {
                        for mut referrer in referrers {
                            release_value(&mut referrer.data, field, &record.id);
                            referrer.updated_at = now();
                            tx.execute(
                                "UPDATE records SET data = ?2, updated_at = ?3 WHERE id = ?1",
                                params![
                                    referrer.id,
                                    stored_json(&referrer.data, &other)?,
                                    format_timestamp(referrer.updated_at)
                                ],
                            )?;
                            released.seqs.push(log_change(
                                tx,
                                ChangeAction::Update,
                                &other,
                                &referrer,
                            )?);
                        }
                    }
                    OnDelete::Cascade => {
                        for referrer in referrers {
                            if released.visiting.contains(&referrer.id) {
                                continue;
                            }
                            self.release_references(tx, &other, &referrer, released)?;
                            tx.execute("DELETE FROM records WHERE id = ?1", [&referrer.id])?;
                            // A cascaded record's files go with it, exactly as when the
                            // record itself is deleted: durably scheduled here, removed
                            // from storage after the commit.
                            if !all_names(other.compiled.schema(), &referrer.data).is_empty() {
                                let key = record_key(&other.collection.id, &referrer.id);
                                deletions::schedule_in(tx, std::slice::from_ref(&key))?;
                                released.dropped_files.push(key);
                            }
                            released.seqs.push(log_change(
                                tx,
                                ChangeAction::Delete,
                                &other,
                                &referrer,
                            )?);
                            *released
                                .deleted
                                .entry(other.collection.id.clone())
                                .or_default() += 1;
                        }
                    }
                }
            }
        }
        if restricting.is_empty() {
            return Ok(());
        }
        Err(Error::conflict(format!(
            "a record of `{}` is still referred to by {}; delete or change those records first",
            loaded.collection.name,
            restricting.join(", ")
        ))
        .with_details(json!({
            "collection": loaded.collection.name,
            "record_id": record.id,
            "referenced_by": restricting,
        })))
    }

    /// 422 when saving `schema` as collection `name` would let cascading deletes loop:
    /// each `cascade` relation field that leads back to its own collection is named.
    pub(super) fn check_cascades(&self, name: &str, schema: &CollectionSchema) -> Result<()> {
        // Edges: deleting in `target` deletes in `referrer`.
        let mut edges: HashMap<String, Vec<String>> = HashMap::new();
        let mut add = |referrer: &str, schema: &CollectionSchema| {
            for field in &schema.fields {
                if field.field_type.is_relation()
                    && field.on_delete == Some(OnDelete::Cascade)
                    && let Some(target) = &field.collection
                {
                    edges
                        .entry(target.clone())
                        .or_default()
                        .push(referrer.to_owned());
                }
            }
        };
        for other in self.registry.all() {
            if other.collection.name != name {
                add(&other.collection.name, other.compiled.schema());
            }
        }
        add(name, schema);
        let mut problems = FieldErrors::default();
        for (i, field) in schema.fields.iter().enumerate() {
            if field.on_delete != Some(OnDelete::Cascade) {
                continue;
            }
            let Some(target) = &field.collection else {
                continue;
            };
            // The edge target → name exists; it loops if name leads back to target.
            if let Some(path) = path_between(&edges, name, target) {
                problems.add(
                    format!("schema.fields[{i}].on_delete"),
                    format!(
                        "cascading deletes would loop: {target} → {}",
                        path.join(" → ")
                    ),
                );
            }
        }
        problems.into_result("cascading deletes would loop")
    }
}

/// The collections from `from` to `to` along `edges` (both ends included), if any.
fn path_between(edges: &HashMap<String, Vec<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut seen = HashSet::new();
    let mut stack = vec![vec![from.to_owned()]];
    while let Some(path) = stack.pop() {
        let last = path.last()?.clone();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in edges.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

/// What `set_null` leaves of `field` once the record `id` is gone: a single relation is
/// removed; a list keeps its other ids, in order ("null" for a list means the element).
fn release_value(data: &mut Map<String, Value>, field: &str, id: &str) {
    match data.get_mut(field) {
        Some(Value::Array(ids)) => ids.retain(|held| held.as_str() != Some(id)),
        _ => {
            data.remove(field);
        }
    }
}

/// The records of `collection` whose relation `field` (or `list[relation]` field) holds
/// `id`.
fn referrers(
    conn: &Connection,
    collection: &LoadedCollection,
    field: &str,
    id: &str,
) -> Result<Vec<Record>> {
    let schema = collection.compiled.schema();
    let Some(expression) = field_expression(field, schema) else {
        return Ok(Vec::new());
    };
    let is_list = schema
        .field(field)
        .is_some_and(|f| f.field_type == FieldType::ListRelation);
    // A list is searched element by element. That scans the collection's records (no
    // expression index can hold a list's elements), which is acceptable here: it runs
    // only when a record of the target collection is deleted, once per list field that
    // points at it, and reads the lists in place without decoding whole records. A
    // collection with very many records and frequent deletes of targets would want a
    // side table of (record, element) rows instead.
    let matches = if is_list {
        format!("EXISTS (SELECT 1 FROM json_each(data, '$.{field}') WHERE value = ?1)")
    } else {
        format!("{expression} = ?1")
    };
    let condition = collection_condition(&collection.collection.id)?;
    let name = &collection.collection.name;
    let records = conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE {condition} AND {matches}"
        ))?
        .query_map([id], |row| record_from_row(row, name))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(records)
}
