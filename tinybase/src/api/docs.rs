//! The served OpenAPI document: the routes' document built at start-up, plus typed paths
//! and schemas for every collection, rebuilt whenever a collection changes.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use serde_json::Value;

use super::collection_docs;
use crate::collections::LoadedCollection;

/// The current OpenAPI document, pre-serialised so serving it costs a clone of `Bytes`.
#[derive(Clone, Default)]
pub struct ApiDocs {
    inner: Arc<RwLock<Docs>>,
}

#[derive(Default)]
struct Docs {
    /// The routes' document, without collection-specific parts.
    base: Value,
    /// What `GET /openapi.json` serves.
    json: Bytes,
}

impl ApiDocs {
    /// Sets the document of the routes (and functions) and publishes it with `collections`.
    pub fn set_base(&self, base: Value, collections: &[Arc<LoadedCollection>]) {
        self.write().base = base;
        self.refresh(collections);
    }

    /// Rebuilds the served document for the current collections.
    pub fn refresh(&self, collections: &[Arc<LoadedCollection>]) {
        let mut doc = self.read_base();
        if doc.is_null() {
            // The router is not built yet; `set_base` will publish.
            return;
        }
        collection_docs::add_collections(&mut doc, collections);
        match serde_json::to_vec(&doc) {
            Ok(json) => self.write().json = Bytes::from(json),
            Err(err) => tracing::error!(%err, "cannot serialise the OpenAPI document"),
        }
    }

    /// The served document as JSON bytes.
    pub fn json(&self) -> Bytes {
        self.read().json.clone()
    }

    fn read_base(&self) -> Value {
        self.read().base.clone()
    }

    // Fields are replaced whole, so a poisoned lock still guards a consistent document.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Docs> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Docs> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}
