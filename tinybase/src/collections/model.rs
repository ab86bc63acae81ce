//! Collections and records as the rest of TinyBase sees them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rules::CollectionOptions;
use super::schema::CollectionSchema;

/// A collection: a named set of records sharing a schema and access rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Collection {
    /// UUIDv7 of the collection.
    pub id: String,
    /// Unique name, `^[a-z][a-z0-9_]{0,62}$`; used in URLs.
    pub name: String,
    /// Human-friendly name for the admin UI.
    pub label: Option<String>,
    /// The fields records have.
    pub schema: CollectionSchema,
    /// Access rules.
    pub options: CollectionOptions,
    /// When the collection was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the collection last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A collection to create.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    /// Unique name, `^[a-z][a-z0-9_]{0,62}$`.
    pub name: String,
    /// Human-friendly name.
    #[serde(default)]
    pub label: Option<String>,
    /// The fields (default: none).
    #[serde(default)]
    pub schema: CollectionSchema,
    /// Access rules (default: list/view public, create auth, update/delete owner).
    #[serde(default)]
    pub options: CollectionOptions,
}

/// Changes to a collection; omitted parts stay as they are. The name cannot change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionChanges {
    /// New label.
    #[serde(default)]
    pub label: Option<String>,
    /// New schema. Takes effect at once; stored records are not rewritten.
    #[serde(default)]
    pub schema: Option<CollectionSchema>,
    /// New access rules.
    #[serde(default)]
    pub options: Option<CollectionOptions>,
}

/// A record: system fields plus the validated `data` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// UUIDv7 of the record.
    pub id: String,
    /// The name of the record's collection.
    pub collection: String,
    /// The user who created the record, if one did.
    pub owner_id: Option<String>,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// The record's fields.
    pub data: Map<String, Value>,
}

/// How to page, sort and filter a record list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct RecordQuery {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500).
    #[schemars(range(min = 1))]
    pub per_page: Option<u32>,
    /// Comma-separated sort keys, `-` for descending: `-created_at,title`.
    pub sort: Option<String>,
    /// A filter expression: `rating >= 3 && (title ~ 'rust' || published = true)`.
    pub filter: Option<String>,
}
