//! The in-memory registry of collections with their compiled schemas.
//!
//! Every record operation needs its collection's compiled validator; compiling per
//! request would waste time and reading the schema per request would cost a query. The
//! registry is loaded at start-up and changed only while the database writer is held,
//! right after the change commits, so it always matches the committed state.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::model::Collection;
use super::validate::CompiledSchema;

/// A collection together with its compiled schema.
#[derive(Debug, Clone)]
pub struct LoadedCollection {
    /// The collection as stored.
    pub collection: Collection,
    /// Its schema, compiled into a record validator.
    pub compiled: CompiledSchema,
}

/// Collections by name.
#[derive(Default)]
pub(crate) struct Registry {
    by_name: RwLock<HashMap<String, Arc<LoadedCollection>>>,
}

impl Registry {
    pub(crate) fn get(&self, name: &str) -> Option<Arc<LoadedCollection>> {
        self.read().get(name).cloned()
    }

    /// Every collection, sorted by name.
    pub(crate) fn all(&self) -> Vec<Arc<LoadedCollection>> {
        let mut all: Vec<_> = self.read().values().cloned().collect();
        all.sort_by(|a, b| a.collection.name.cmp(&b.collection.name));
        all
    }

    pub(crate) fn put(&self, loaded: LoadedCollection) {
        let name = loaded.collection.name.clone();
        self.write().insert(name, Arc::new(loaded));
    }

    pub(crate) fn remove(&self, name: &str) {
        self.write().remove(name);
    }

    // The map holds only whole entries (inserts and removes cannot half-happen), so a
    // poisoned lock still guards consistent data.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<LoadedCollection>>> {
        self.by_name.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<LoadedCollection>>> {
        self.by_name.write().unwrap_or_else(|p| p.into_inner())
    }
}
