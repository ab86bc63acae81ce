//! Creating or migrating a collection declared in code, in one write transaction.
//!
//! The declaration wins over the stored collection, but only when every stored record
//! stays valid under the declared schema: adding an optional field, loosening a
//! constraint or changing rules always applies; making a field required over records
//! without it, changing a type that stored values do not fit, or removing a field that
//! records still hold is refused with the field named, and nothing changes.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::collections::{collection_names, files_of_dropped_fields, no_collection};
use super::{COLLECTION_COLUMNS, Service, collection_from_row};
use crate::collections::model::{Collection, NewCollection};
use crate::collections::registry::LoadedCollection;
use crate::collections::validate::CompiledSchema;
use crate::collections::{indexes, search};
use crate::db::{format_timestamp, now};
use crate::storage::deletions;
use crate::{Error, Result};

/// How many invalid stored records a refused migration names.
const EXAMPLES: usize = 3;

/// What declaring a collection did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defined {
    /// It did not exist and was created.
    Created,
    /// It existed with another schema, label or rules, and now matches the declaration.
    Migrated,
    /// It already matched the declaration.
    Unchanged,
}

impl Service {
    /// Creates `declared`, or brings the stored collection of that name in line with it,
    /// and marks it as defined in code (the admin API then refuses to edit it). Used at
    /// start-up for `#[derive(tinybase::Collection)]` structs.
    ///
    /// # Errors
    /// 422 for a bad name, schema or rule; 409 when stored records would not be valid
    /// under the declared schema (the message names the fields and some records), or when
    /// a unique field has duplicate values. Nothing changes then.
    pub async fn define_collection(&self, declared: NewCollection) -> Result<Defined> {
        if let Some(msg) = super::collections::check_collection_name(&declared.name) {
            return Err(Error::invalid_field("name", msg));
        }
        if let Some((field, problem)) = declared.options.problems() {
            return Err(Error::invalid_field(field, problem));
        }
        let registry = self.registry.clone();
        let service = self.clone();
        let (loaded, outcome, dropped_files) = self
            .db
            .write_then(
                move |tx| {
                    let stored = tx
                        .query_row(
                            &format!(
                                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE name = ?1"
                            ),
                            [&declared.name],
                            collection_from_row,
                        )
                        .optional()?;
                    let names = collection_names(tx)?;
                    let own = declared.name.clone();
                    let compiled = CompiledSchema::compile(&declared.schema, &|n| {
                        names.contains(n) || n == own
                    })?;
                    let (mut collection, outcome, dropped) = match stored {
                        Some(stored)
                            if stored.schema == declared.schema
                                && stored.options == declared.options
                                && stored.label == declared.label =>
                        {
                            (stored, Defined::Unchanged, Vec::new())
                        }
                        Some(mut stored) => {
                            check_stored_records(tx, &stored, &compiled)?;
                            let dropped = files_of_dropped_fields(tx, &stored, &declared.schema)?;
                            stored.schema = declared.schema;
                            stored.options = declared.options;
                            stored.label = declared.label;
                            stored.updated_at = now();
                            (stored, Defined::Migrated, dropped)
                        }
                        None => {
                            let at = now();
                            let collection = Collection {
                                id: Uuid::now_v7().to_string(),
                                name: declared.name,
                                label: declared.label,
                                schema: declared.schema,
                                options: declared.options,
                                created_at: at,
                                updated_at: at,
                                code_defined: true,
                            };
                            (collection, Defined::Created, Vec::new())
                        }
                    };
                    collection.code_defined = true;
                    if outcome != Defined::Unchanged {
                        service.check_cascades(&collection.name, &collection.schema)?;
                        service.check_rules_of(
                            &collection.id,
                            &collection.name,
                            &collection.schema,
                            &collection.options,
                        )?;
                        save(tx, &collection, outcome)?;
                        indexes::sync(tx, &collection.id, &collection.schema)?;
                        search::sync(tx, &collection.id, &collection.schema)?;
                        deletions::schedule_in(tx, &dropped)?;
                    }
                    Ok((
                        LoadedCollection {
                            collection,
                            compiled,
                        },
                        outcome,
                        dropped,
                    ))
                },
                move |(loaded, _, _)| registry.put(loaded.clone()),
            )
            .await?;
        if outcome != Defined::Unchanged {
            tracing::info!(collection = %loaded.collection.name, ?outcome, "collection defined in code");
            self.notify();
        }
        deletions::delete_now(&self.db, &self.store, dropped_files).await;
        Ok(outcome)
    }
}

fn save(tx: &rusqlite::Transaction<'_>, collection: &Collection, outcome: Defined) -> Result<()> {
    let schema = serde_json::to_string(&collection.schema)?;
    let options = serde_json::to_string(&collection.options)?;
    if outcome == Defined::Created {
        tx.execute(
            "INSERT INTO collections (id, name, label, schema, options, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                collection.id,
                collection.name,
                collection.label,
                schema,
                options,
                format_timestamp(collection.created_at),
            ],
        )?;
    } else {
        let changed = tx.execute(
            "UPDATE collections SET label = ?2, schema = ?3, options = ?4, updated_at = ?5
             WHERE id = ?1",
            params![
                collection.id,
                collection.label,
                schema,
                options,
                format_timestamp(collection.updated_at),
            ],
        )?;
        if changed == 0 {
            return Err(no_collection(&collection.name));
        }
    }
    Ok(())
}

/// 409 when a stored record of `collection` is not valid under `compiled`, naming each
/// field that fails and up to [`EXAMPLES`] records.
fn check_stored_records(
    conn: &rusqlite::Connection,
    collection: &Collection,
    compiled: &CompiledSchema,
) -> Result<()> {
    let mut statement =
        conn.prepare("SELECT id, data FROM records WHERE collection_id = ?1 ORDER BY id")?;
    let rows = statement.query_map([&collection.id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let no_patch = Map::new();
    // field → (problem, records failing it)
    let mut fields: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut invalid = 0_u64;
    for row in rows {
        let (id, data) = row?;
        let data: Map<String, Value> = serde_json::from_str(&data)?;
        let Err(err) = compiled.validate_patch(&data, &no_patch) else {
            continue;
        };
        invalid += 1;
        let problems = err
            .details()
            .and_then(|d| d.get("fields"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (field, problem) in problems {
            let problem = problem.as_str().unwrap_or("is not valid").to_owned();
            match fields.iter_mut().find(|(f, _, _)| *f == field) {
                Some((_, _, ids)) => {
                    if ids.len() < EXAMPLES {
                        ids.push(id.clone());
                    }
                }
                None => fields.push((field, problem, vec![id.clone()])),
            }
        }
    }
    if invalid == 0 {
        return Ok(());
    }
    let described: Vec<String> = fields
        .iter()
        .map(|(field, problem, ids)| {
            format!("field `{field}` {problem} (e.g. record {})", ids.join(", "))
        })
        .collect();
    let names: Vec<&str> = fields.iter().map(|(f, _, _)| f.as_str()).collect();
    Err(Error::conflict(format!(
        "the new schema of `{}` would make {invalid} stored record(s) invalid: {}; nothing \
         was changed. Make the field optional (`Option<…>`), or fix those records first",
        collection.name,
        described.join("; ")
    ))
    .with_details(serde_json::json!({ "fields": names })))
}
