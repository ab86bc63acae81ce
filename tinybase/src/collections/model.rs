//! Collections and records as the rest of TinyBase sees them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rules::{Action, CollectionOptions, Rule};
use super::schema::CollectionSchema;

/// What a collection name looks like; `check_collection_name` enforces the same.
pub const COLLECTION_NAME_PATTERN: &str = "^[a-z][a-z0-9_]{0,62}$";

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
    /// Declared by a Rust struct (`#[derive(tinybase::Collection)]`): created or migrated
    /// at every start from the code, so the admin API refuses to change or delete it.
    pub code_defined: bool,
}

/// A collection to create.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    /// Unique name, `^[a-z][a-z0-9_]{0,62}$`.
    #[schemars(regex(pattern = COLLECTION_NAME_PATTERN))]
    pub name: String,
    /// Human-friendly name (at most 200 characters).
    #[serde(default)]
    #[schemars(length(max = 200))]
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

/// Which of a collection's rules a checked rule would be: `create` and `update` rules may
/// use `@request.body.<field>`, the others may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// `list_rule`.
    List,
    /// `view_rule`.
    View,
    /// `create_rule`.
    Create,
    /// `update_rule`.
    Update,
    /// `delete_rule`.
    Delete,
}

impl RuleKind {
    /// The action the rule governs.
    pub fn action(self) -> Action {
        match self {
            Self::List => Action::List,
            Self::View => Action::View,
            Self::Create => Action::Create,
            Self::Update => Action::Update,
            Self::Delete => Action::Delete,
        }
    }
}

/// A rule to check without saving it: `POST /api/collections/check-rule`.
///
/// An expression is checked against the fields of `schema` (the fields being edited, so a
/// rule may name a field not saved yet; `name` says whose they are) or, without `schema`,
/// of the existing `collection`. Exactly one of the two is needed for an expression; a
/// keyword needs neither.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleCheckRequest {
    /// The rule as it would be written in `options`: a keyword or an expression.
    pub rule: Rule,
    /// Which rule it would be.
    pub kind: RuleKind,
    /// The fields the collection would have.
    #[serde(default)]
    pub schema: Option<CollectionSchema>,
    /// The name of an existing collection whose fields to use when `schema` is absent.
    #[serde(default)]
    pub collection: Option<String>,
    /// With `schema`: the name the collection has or will have, so that a relation to
    /// itself and `@collection.<name>` in its own rules mean the collection as edited, as
    /// they do when it is saved.
    #[serde(default)]
    #[schemars(regex(pattern = COLLECTION_NAME_PATTERN))]
    pub name: Option<String>,
}

/// The verdict on a checked rule: `{"ok": true}`, or `{"ok": false, "message", "position"}`
/// with the message saving the collection would give in
/// `details.fields["options.<kind>_rule"]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RuleCheck {
    /// Whether the rule compiles.
    pub ok: bool,
    /// Why it does not, e.g. "unknown field `ratng` at position 0; fields: …".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The character offset (from 0) the message points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
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
    #[schemars(range(min = 1, max = u32::MAX))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500; larger values are clamped).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub per_page: Option<u32>,
    /// Comma-separated sort keys, `-` for descending: `-created_at,title`. With `search`,
    /// `@rank` sorts by relevance, best matches first.
    pub sort: Option<String>,
    /// A filter expression: `rating >= 3 && (title ~ 'rust' || published = true)`.
    pub filter: Option<String>,
    /// Words to look for in the collection's `searchable` fields: only records holding
    /// every word are listed (case and accents ignored; `word*` matches words starting
    /// with `word`). Combine with `sort=@rank` for the best matches first.
    #[schemars(length(max = super::search::MAX_SEARCH_CHARS))]
    pub search: Option<String>,
    /// The `next_cursor` of the previous page: the page of records right after it in
    /// the same sort (with the same filter and search), whatever was written meanwhile.
    /// Deep pages cost as little as the first. Not with `page` (other than 1) or
    /// `sort=@rank`. Only the JSON list of the HTTP API returns cursors.
    pub after: Option<String>,
    /// `true` skips counting the matches, which on a big collection costs more than the
    /// page: `total_items` and `total_pages` are then null. Only the JSON list of the
    /// HTTP API honours it; [`crate::collections::Service::list_records`] always counts.
    pub skip_total: Option<bool>,
    /// Related records to put under `"expand"` on each record, comma-separated: relation
    /// fields (`author`), back-relations (`comments_via_post`: the `comments` whose `post`
    /// is the record) and paths up to 3 deep (`author.team`). Only the JSON answers of the
    /// HTTP API honour it.
    pub expand: Option<String>,
    /// Only these parts of each record, comma-separated: `id,data.title,expand.author`.
    /// Only the JSON answers of the HTTP API honour it.
    pub fields: Option<String>,
}

/// What to add to, or trim from, one record read over HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct RecordViewQuery {
    /// Related records to put under `"expand"`, as for a list: `author,comments_via_post`.
    pub expand: Option<String>,
    /// Only these parts of the record: `id,data.title,expand.author`.
    pub fields: Option<String>,
}
