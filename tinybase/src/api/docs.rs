//! The served OpenAPI document: the routes' document built at start-up, plus typed paths
//! and schemas for every collection, rebuilt whenever a collection changes.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use serde_json::Value;

use super::collection_docs;
use crate::auth::Caller;
use crate::collections::{CollectionOptions, LoadedCollection, Rule};

/// Who a served document is for. Each audience sees the routes and the collections it
/// may list or view, so a collection kept to admins does not show its name and fields to
/// anyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// No token.
    Anonymous,
    /// A signed-in user who is not an admin.
    User,
    /// An admin: sees every collection.
    Admin,
}

impl Audience {
    /// Every audience, in the order of [`Docs::json`].
    const ALL: [Self; 3] = [Self::Anonymous, Self::User, Self::Admin];

    /// The audience `caller` belongs to.
    pub fn of(caller: &Caller) -> Self {
        match (&caller.user_id, caller.is_admin) {
            (_, true) => Self::Admin,
            (Some(_), false) => Self::User,
            (None, false) => Self::Anonymous,
        }
    }

    /// Whether this audience may list or view records of a collection with `options`
    /// (`owner` counts: a user may see their own records; an expression may admit anyone).
    fn sees(self, options: &CollectionOptions) -> bool {
        let admits = |rule: &Rule| match self {
            Self::Admin => true,
            Self::User => *rule != Rule::Admin,
            Self::Anonymous => matches!(rule, Rule::Public | Rule::Expression(_)),
        };
        admits(&options.list_rule) || admits(&options.view_rule)
    }

    fn index(self) -> usize {
        match self {
            Self::Anonymous => 0,
            Self::User => 1,
            Self::Admin => 2,
        }
    }
}

/// The current OpenAPI documents, pre-serialised so serving one costs a clone of `Bytes`.
#[derive(Clone, Default)]
pub struct ApiDocs {
    inner: Arc<RwLock<Docs>>,
}

#[derive(Default)]
struct Docs {
    /// The routes' document, without collection-specific parts.
    base: Value,
    /// What `GET /openapi.json` serves, per [`Audience`].
    json: [Bytes; 3],
}

impl ApiDocs {
    /// Sets the document of the routes (and functions) and publishes it with `collections`.
    pub fn set_base(&self, base: Value, collections: &[Arc<LoadedCollection>]) {
        self.write().base = base;
        self.refresh(collections);
    }

    /// Rebuilds the served document for the current collections.
    pub fn refresh(&self, collections: &[Arc<LoadedCollection>]) {
        let base = self.read_base();
        if base.is_null() {
            // The router is not built yet; `set_base` will publish.
            return;
        }
        for audience in Audience::ALL {
            let mut doc = base.clone();
            let seen: Vec<Arc<LoadedCollection>> = collections
                .iter()
                .filter(|loaded| audience.sees(&loaded.collection.options))
                .cloned()
                .collect();
            collection_docs::add_collections(&mut doc, &seen);
            match serde_json::to_vec(&doc) {
                Ok(json) => self.write().json[audience.index()] = Bytes::from(json),
                Err(err) => tracing::error!(%err, "cannot serialise the OpenAPI document"),
            }
        }
    }

    /// The document served to `audience`, as JSON bytes.
    pub fn json(&self, audience: Audience) -> Bytes {
        self.read().json[audience.index()].clone()
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
