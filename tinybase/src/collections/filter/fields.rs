//! Which names a filter or sort may use, what type each has and its SQL expression.
//!
//! A name resolves to a system column of `records` or to a schema field inside the `data`
//! JSON. Only names found here are ever written into SQL, and only in the spelling taken
//! from this table or the schema — never the user's text.

use crate::collections::schema::{CollectionSchema, FieldType};

/// How a field's values compare: decides which operators and literals fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Compared as text; `~` allowed.
    Text,
    /// An integer.
    Int,
    /// A float.
    Float,
    /// `true`/`false`, stored by `json_extract` as 1/0.
    Boolean,
    /// A timestamp stored as fixed-width UTC text.
    Datetime,
    /// A `YYYY-MM-DD` date.
    Date,
    /// Any JSON value; no type checks.
    Json,
    /// A list whose elements are of the given kind (`Text`, `Int` or `Float`).
    List(ListOf),
}

impl Kind {
    /// Lists and JSON values have no useful order.
    pub(crate) fn is_sortable(self) -> bool {
        !matches!(self, Self::List(_) | Self::Json)
    }
}

/// The element type of a list field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListOf {
    /// `list[string]`.
    Text,
    /// `list[int]`.
    Int,
    /// `list[float]`.
    Float,
}

/// A filterable or sortable field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// The name as the schema (or the system) spells it.
    pub(crate) name: String,
    /// How values compare.
    pub(crate) kind: Kind,
    /// The type's name as users know it, for messages.
    pub(crate) type_name: &'static str,
    /// Where the value lives.
    pub(crate) source: Source,
}

/// Where a field's value lives in a row of `records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A column of `records`.
    Column(Column),
    /// The top-level key of the `data` JSON object named like the field.
    Data,
}

/// The columns of `records` that are system fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    /// `id`
    Id,
    /// `owner_id`, NULL for records created without a user.
    OwnerId,
    /// `created_at`
    CreatedAt,
    /// `updated_at`
    UpdatedAt,
}

impl Column {
    /// The column's name, which is also the field's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::OwnerId => "owner_id",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
        }
    }
}

impl Field {
    /// The SQL expression yielding the field's value (NULL when absent).
    pub(crate) fn expr(&self) -> String {
        match self.source {
            Source::Column(column) => column.name().to_owned(),
            // Written exactly like the expression indexes on `indexed` fields, so SQLite
            // can use them.
            Source::Data => format!("json_extract(data, '$.{}')", self.name),
        }
    }

    /// The `json_each(...)` table source iterating a list field's elements.
    pub(crate) fn json_each(&self) -> String {
        match self.source {
            Source::Column(column) => format!("json_each({})", column.name()),
            Source::Data => format!("json_each(data, '$.{}')", self.name),
        }
    }
}

/// The system fields, in the order they are listed to users.
const SYSTEM_FIELDS: &[(Column, Kind, &str)] = &[
    (Column::Id, Kind::Text, "text"),
    (Column::OwnerId, Kind::Text, "text"),
    (Column::CreatedAt, Kind::Datetime, "datetime"),
    (Column::UpdatedAt, Kind::Datetime, "datetime"),
];

/// The field called `name`: a system field or a schema field.
pub(crate) fn resolve(name: &str, schema: &CollectionSchema) -> Option<Field> {
    if let Some(&(column, kind, type_name)) = SYSTEM_FIELDS.iter().find(|(c, ..)| c.name() == name)
    {
        return Some(Field {
            name: column.name().to_owned(),
            kind,
            type_name,
            source: Source::Column(column),
        });
    }
    let spec = schema.field(name)?;
    // Schemas are validated on save, but this name is about to be written into SQL:
    // check again rather than trust every path that builds a schema.
    if !is_safe_name(&spec.name) {
        return None;
    }
    Some(Field {
        name: spec.name.clone(),
        kind: kind_of(spec.field_type),
        type_name: spec.field_type.as_str(),
        source: Source::Data,
    })
}

/// The SQL expression for a schema field or system field, or `None` if unknown.
///
/// System fields are columns of `records` (`id`, `owner_id`, `created_at`, `updated_at`);
/// a schema field `x` is `json_extract(data, '$.x')`. The text depends only on the name,
/// so it can also define expression indexes that filters and sorts then use.
///
/// ```
/// use tinybase::collections::filter::field_expression;
/// use tinybase::collections::schema::CollectionSchema;
///
/// let schema: CollectionSchema =
///     serde_json::from_str(r#"{"fields": [{"name": "title", "type": "string"}]}"#).unwrap();
/// assert_eq!(field_expression("title", &schema).as_deref(), Some("json_extract(data, '$.title')"));
/// assert_eq!(field_expression("created_at", &schema).as_deref(), Some("created_at"));
/// assert_eq!(field_expression("collection", &schema), None);
/// ```
pub fn field_expression(name: &str, schema: &CollectionSchema) -> Option<String> {
    resolve(name, schema).map(|field| field.expr())
}

/// The names a user may use, for "unknown field" messages: schema fields, then system ones.
pub(crate) fn known_names(schema: &CollectionSchema, sortable_only: bool) -> String {
    let schema_names = schema
        .fields
        .iter()
        .filter(|f| !sortable_only || kind_of(f.field_type).is_sortable())
        .map(|f| f.name.as_str());
    let system_names = SYSTEM_FIELDS.iter().map(|(column, ..)| column.name());
    schema_names
        .chain(system_names)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How values of a schema field type compare.
fn kind_of(field_type: FieldType) -> Kind {
    match field_type {
        FieldType::String
        | FieldType::Text
        | FieldType::Email
        | FieldType::Url
        | FieldType::Select
        | FieldType::Relation => Kind::Text,
        FieldType::Int => Kind::Int,
        FieldType::Float => Kind::Float,
        FieldType::Boolean => Kind::Boolean,
        FieldType::Datetime => Kind::Datetime,
        FieldType::Date => Kind::Date,
        FieldType::Json => Kind::Json,
        FieldType::ListString => Kind::List(ListOf::Text),
        FieldType::ListInt => Kind::List(ListOf::Int),
        FieldType::ListFloat => Kind::List(ListOf::Float),
    }
}

/// `^[a-z][a-z0-9_]{0,62}$`: the schema's rule for field names, which makes a name safe
/// inside a SQL string literal and a JSON path.
fn is_safe_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_follow_the_schema_rule() {
        assert!(is_safe_name("a"));
        assert!(is_safe_name("due_at_2"));
        assert!(is_safe_name(&"a".repeat(63)));
        assert!(!is_safe_name(&"a".repeat(64)));
        assert!(!is_safe_name(""));
        assert!(!is_safe_name("_a"));
        assert!(!is_safe_name("1a"));
        assert!(!is_safe_name("Title"));
        assert!(!is_safe_name("a') OR 1=1 --"));
        assert!(!is_safe_name("a.b"));
    }
}
