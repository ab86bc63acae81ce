//! The OpenAPI document, built once at start-up and swapped when it changes.

use std::sync::{Arc, RwLock};

use aide::openapi::OpenApi;
use axum::body::Bytes;

/// The current OpenAPI document, pre-serialised so serving it costs a clone of `Bytes`.
#[derive(Clone, Default)]
pub struct ApiDocs {
    json: Arc<RwLock<Bytes>>,
}

impl ApiDocs {
    /// Replaces the served document.
    pub fn publish(&self, api: &OpenApi) {
        match serde_json::to_vec(api) {
            Ok(json) => {
                // A writer cannot panic mid-assignment, so a poisoned lock still holds a
                // whole document.
                *self.json.write().unwrap_or_else(|p| p.into_inner()) = Bytes::from(json);
            }
            Err(err) => tracing::error!(%err, "cannot serialise the OpenAPI document"),
        }
    }

    /// The served document as JSON bytes.
    pub fn json(&self) -> Bytes {
        self.json.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
