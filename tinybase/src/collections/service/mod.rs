//! The collections service: the one implementation of collection and record operations,
//! with validation and access rules, used by the HTTP API and by functions alike.

mod access;
mod batch;
mod collections;
mod cursor;
mod define;
mod expand;
mod fields;
mod files;
mod page_json;
mod records;
mod references;
mod relations;
mod rule_check;

pub(crate) use access::record_matches;
pub use batch::{
    BatchOperation, BatchOutcome, MAX_BATCH_OPERATIONS, batch_error_at, check_batch_size,
};
pub use collections::DEFINED_IN_CODE;
pub use define::Defined;
pub use files::{UploadedFile, check_file_type, empty_file, file_too_large, holds_file};
pub use page_json::JsonPieces;
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
use crate::hooks::Hooks;
use crate::storage::FileStore;

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
    /// Where the records' files are kept.
    store: FileStore,
    /// The `before_*` hooks run inside record writes.
    hooks: Arc<Hooks>,
}

impl Service {
    /// Loads every collection from the database and compiles its schema; records' files
    /// are kept in `store`.
    ///
    /// # Errors
    /// Internal errors when the database cannot be read.
    pub async fn load(db: Database, store: FileStore) -> Result<Self> {
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
            store,
            hooks: Arc::new(Hooks::default()),
        })
    }

    /// Reads every collection again and replaces the loaded ones (a read replica's
    /// collections change when the primary's do, without this process writing).
    /// Listeners are told when anything changed. Returns whether anything did.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn reload(&self) -> Result<bool> {
        let rows = self.db.read(all_collections).await?;
        let names: HashSet<String> = rows.iter().map(|c| c.name.clone()).collect();
        let before = self.registry.all();
        let mut changed = before.len() != rows.len();
        for collection in rows {
            let same = self
                .registry
                .get(&collection.name)
                .is_some_and(|loaded| loaded.collection == collection);
            if same {
                continue;
            }
            changed = true;
            match CompiledSchema::compile(&collection.schema, &|name| names.contains(name)) {
                Ok(compiled) => self.registry.put(LoadedCollection {
                    collection,
                    compiled,
                }),
                Err(err) => tracing::error!(
                    collection = %collection.name,
                    error = %err,
                    "stored schema is invalid; the collection is unavailable until it is fixed"
                ),
            }
        }
        for gone in before
            .iter()
            .filter(|c| !names.contains(&c.collection.name))
        {
            self.registry.remove(&gone.collection.name);
        }
        if changed {
            self.notify();
        }
        Ok(changed)
    }

    /// The same service, running `hooks` on every record write from now on. Call it
    /// before handing out clones: clones made earlier keep the hooks they had.
    #[must_use]
    pub fn with_hooks(mut self, hooks: Arc<Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The hooks run on record writes.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    /// Where the records' files are kept.
    pub fn file_store(&self) -> &FileStore {
        &self.store
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
        code_defined: false,
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
