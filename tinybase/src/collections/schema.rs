//! The collection schema as admins write it: `{"fields": [{"name", "type", ...}]}`.
//!
//! These are plain data types. Checking a schema and compiling it into a record validator
//! lives in `validate/`; turning it into OpenAPI lives in the API layer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Field names a schema may not use: they are the record's system fields.
pub const RESERVED_FIELD_NAMES: &[&str] =
    &["id", "collection", "owner_id", "created_at", "updated_at"];

/// The fields of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionSchema {
    /// The fields, in display order.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

impl CollectionSchema {
    /// The field called `name`, if any.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a collection and its constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name: `^[a-z][a-z0-9_]{0,62}$`, not one of the reserved system names.
    pub name: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// A value must be present (and not null) after defaults are applied.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The value used when a new record omits the field. Must itself be a valid value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Smallest allowed number (`int`, `float`; each element of `list[int]`/`list[float]`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_bound"
    )]
    pub min: Option<f64>,
    /// Largest allowed number (`int`, `float`; each element of `list[int]`/`list[float]`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_bound"
    )]
    pub max: Option<f64>,
    /// Fewest characters (strings) or elements (lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Most characters (strings) or elements (lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression string values must match (strings; each `list[string]` element).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// No two records of the collection may share a non-null value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Keep an index on the field so filters and sorts on it are fast.
    #[serde(default, skip_serializing_if = "is_false")]
    pub indexed: bool,
    /// Keep the field's text in the collection's full-text index, so `?search=` finds the
    /// record by its words (`string` and `text` fields).
    #[serde(default, skip_serializing_if = "is_false")]
    pub searchable: bool,
    /// The allowed values of a `select` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The target collection of a `relation` or `list[relation]` field; values are record
    /// ids in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The largest file accepted, in bytes (`file`; each file of `list[file]`). Default
    /// 5 MiB ([`DEFAULT_MAX_FILE_SIZE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// The content types a file may have (`file`, `list[file]`), judged from its bytes, not
    /// its name: `image/png`, or a whole family such as `image/*`. Default: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_types: Option<Vec<String>>,
    /// What deleting a record that a `relation` (or `list[relation]`) field points at does
    /// to the records pointing at it (default `restrict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
}

/// The `max_size` of a file field that sets none: 5 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

impl FieldSpec {
    /// The largest file this field accepts, in bytes.
    pub fn max_file_size(&self) -> u64 {
        self.max_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }

    /// Whether a file whose content is of type `mime` may be stored in this field.
    pub fn accepts_mime(&self, mime: &str) -> bool {
        let Some(allowed) = &self.mime_types else {
            return true;
        };
        allowed
            .iter()
            .any(|pattern| match pattern.strip_suffix("/*") {
                Some(family) => mime
                    .split_once('/')
                    .is_some_and(|(top, _)| top.eq_ignore_ascii_case(family)),
                None => pattern.eq_ignore_ascii_case(mime),
            })
    }
}

/// What deleting a related record does to the records that point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// The delete is refused with 409 while any record points at it.
    #[default]
    Restrict,
    /// The records pointing at it are deleted too, in the same transaction.
    Cascade,
    /// The field is removed from the records pointing at it (for a `list[relation]`: the
    /// id is removed from the list), in the same transaction.
    SetNull,
}

/// Writes whole-number bounds as integers, so `"min": 0` reads back as `0`, not `0.0`.
fn serialize_bound<S: serde::Serializer>(
    bound: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // 2^53: every integer up to here is exact in an f64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match bound {
        #[allow(clippy::cast_possible_truncation)] // whole and within ±2^53: exact
        Some(v) if v.fract() == 0.0 && v.abs() <= EXACT => serializer.serialize_i64(*v as i64),
        Some(v) => serializer.serialize_f64(*v),
        None => serializer.serialize_none(),
    }
}

// serde's `skip_serializing_if` takes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum FieldType {
    /// A single-line string.
    #[serde(rename = "string")]
    String,
    /// Long-form text.
    #[serde(rename = "text")]
    Text,
    /// A 64-bit signed integer.
    #[serde(rename = "int")]
    Int,
    /// A 64-bit float.
    #[serde(rename = "float")]
    Float,
    /// `true` or `false`.
    #[serde(rename = "boolean")]
    Boolean,
    /// An RFC 3339 date and time; stored normalised to UTC.
    #[serde(rename = "datetime")]
    Datetime,
    /// A calendar date, `YYYY-MM-DD`.
    #[serde(rename = "date")]
    Date,
    /// An email address.
    #[serde(rename = "email")]
    Email,
    /// An absolute `http` or `https` URL.
    #[serde(rename = "url")]
    Url,
    /// One of the field's `values`.
    #[serde(rename = "select")]
    Select,
    /// Any JSON value.
    #[serde(rename = "json")]
    Json,
    /// A list of strings.
    #[serde(rename = "list[string]")]
    ListString,
    /// A list of integers.
    #[serde(rename = "list[int]")]
    ListInt,
    /// A list of floats.
    #[serde(rename = "list[float]")]
    ListFloat,
    /// The id of a record in the collection named by `collection`.
    #[serde(rename = "relation")]
    Relation,
    /// An uploaded file; the value is its stored name.
    #[serde(rename = "file")]
    File,
    /// Uploaded files; the value is a list of stored names.
    #[serde(rename = "list[file]")]
    ListFile,
    /// Distinct ids of records in the collection named by `collection`, in the order given.
    #[serde(rename = "list[relation]")]
    ListRelation,
}

impl FieldType {
    /// The name used in schemas, e.g. `list[string]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Text => "text",
            Self::Int => "int",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Date => "date",
            Self::Email => "email",
            Self::Url => "url",
            Self::Select => "select",
            Self::Json => "json",
            Self::ListString => "list[string]",
            Self::ListInt => "list[int]",
            Self::ListFloat => "list[float]",
            Self::Relation => "relation",
            Self::File => "file",
            Self::ListFile => "list[file]",
            Self::ListRelation => "list[relation]",
        }
    }

    /// True for the string-valued types (compared as text, `~` allowed, lengths in chars).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            Self::String
                | Self::Text
                | Self::Email
                | Self::Url
                | Self::Select
                | Self::Relation
                | Self::Datetime
                | Self::Date
                | Self::File
        )
    }

    /// True for `int` and `float`.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Int | Self::Float)
    }

    /// True for the list types.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Self::ListString
                | Self::ListInt
                | Self::ListFloat
                | Self::ListFile
                | Self::ListRelation
        )
    }

    /// True for `relation` and `list[relation]`: their values are ids of records in the
    /// field's `collection`, and deleting those records applies the field's `on_delete`.
    pub fn is_relation(self) -> bool {
        matches!(self, Self::Relation | Self::ListRelation)
    }

    /// True for `file` and `list[file]`: their values are set by uploading.
    pub fn is_file(self) -> bool {
        matches!(self, Self::File | Self::ListFile)
    }
}
