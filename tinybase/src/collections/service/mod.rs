//! The collections service: the one implementation of collection and record operations,
//! with validation and access rules, used by the HTTP API and by functions alike.

mod collections;
mod page_json;
mod records;

pub use records::ListStatements;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::model::Collection;
use super::registry::{LoadedCollection, Registry};
use super::rules::CollectionOptions;
use super::schema::CollectionSchema;
use super::validate::CompiledSchema;
use crate::Result;
use crate::changes::{self, ChangeFeed};
use crate::db::{Database, parse_timestamp};

/// Called with every collection after any collection changes (e.g. to rebuild API docs).
type ChangeListener = Box<dyn Fn(&[Arc<LoadedCollection>]) + Send + Sync>;

/// Collection and record operations. Cheap to clone; clones share one registry.
#[derive(Clone)]
pub struct Service {
    db: Database,
    registry: Arc<Registry>,
    listeners: Arc<Mutex<Vec<ChangeListener>>>,
    /// Announces each record write once it has committed to the change log.
    changes: ChangeFeed,
}

impl Service {
    /// Loads every collection from the database and compiles its schema.
    ///
    /// # Errors
    /// Internal errors when the database cannot be read.
    pub async fn load(db: Database) -> Result<Self> {
        let registry = Arc::new(Registry::default());
        let rows = db.read(all_collections).await?;
        let names: HashSet<String> = rows.iter().map(|c| c.name.clone()).collect();
        for collection in rows {
            match CompiledSchema::compile(&collection.schema, &|name| names.contains(name)) {
                Ok(compiled) => registry.put(LoadedCollection {
                    collection,
                    compiled,
                }),
                // Schemas are checked on save, so this means the file was edited by hand.
                Err(err) => tracing::error!(
                    collection = %collection.name,
                    error = %err,
                    details = ?err.details(),
                    "stored schema is invalid; the collection is unavailable until it is fixed"
                ),
            }
        }
        let latest = db.read(changes::latest_seq).await?;
        Ok(Self {
            db,
            registry,
            listeners: Arc::new(Mutex::new(Vec::new())),
            changes: ChangeFeed::new(latest),
        })
    }

    /// The feed that announces committed record writes (see [`crate::changes`]).
    pub fn change_feed(&self) -> &ChangeFeed {
        &self.changes
    }

    /// Registers `listener`, called after every collection change with all collections.
    /// It is not called for the current state: call [`Service::all`] for that.
    pub fn on_change(&self, listener: impl Fn(&[Arc<LoadedCollection>]) + Send + Sync + 'static) {
        self.lock_listeners().push(Box::new(listener));
    }

    /// Every collection with its compiled schema, sorted by name.
    pub fn all(&self) -> Vec<Arc<LoadedCollection>> {
        self.registry.all()
    }

    /// One collection with its compiled schema, without access checks.
    pub fn loaded(&self, name: &str) -> Option<Arc<LoadedCollection>> {
        self.registry.get(name)
    }

    fn notify(&self) {
        let all = self.registry.all();
        for listener in self.lock_listeners().iter() {
            listener(&all);
        }
    }

    // Listeners are only ever pushed whole, so a poisoned lock still holds a valid list.
    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<ChangeListener>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const COLLECTION_COLUMNS: &str = "id, name, label, schema, options, created_at, updated_at";

fn collection_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Collection> {
    let schema: String = row.get(3)?;
    let options: String = row.get(4)?;
    let json_error = |err: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(err))
    };
    Ok(Collection {
        id: row.get(0)?,
        name: row.get(1)?,
        label: row.get(2)?,
        schema: serde_json::from_str::<CollectionSchema>(&schema).map_err(json_error)?,
        options: serde_json::from_str::<CollectionOptions>(&options).map_err(json_error)?,
        created_at: parse_timestamp(&row.get::<_, String>(5)?)?,
        updated_at: parse_timestamp(&row.get::<_, String>(6)?)?,
    })
}

fn all_collections(conn: &Connection) -> Result<Vec<Collection>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLLECTION_COLUMNS} FROM collections ORDER BY name"
    ))?;
    let rows = stmt
        .query_map([], collection_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
