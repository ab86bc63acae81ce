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
    /// Which record it is read from.
    pub(crate) path: Path,
}

/// Which record a field is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Path {
    /// The record being filtered.
    Own,
    /// A record reached through relation fields, one hop per field (`author.team.name`).
    Related(Vec<Hop>),
    /// Any record of another collection (`@collection.<name>.<field>`): a comparison on
    /// it holds when some record of that collection matches.
    AnyOf(CollectionId),
}

/// One step of a relation path: the relation field followed, and the collection it
/// points into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    /// The relation field, in the collection the hop starts from.
    pub(crate) field: String,
    /// The collection the field's values are ids in.
    pub(crate) target: CollectionId,
}

/// A collection id that has been checked to be a UUID, so it is safe inside SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CollectionId(String);

impl CollectionId {
    /// `None` unless `id` is a UUID; stored as the canonical hyphenated form.
    pub(crate) fn parse(id: &str) -> Option<Self> {
        uuid::Uuid::parse_str(id)
            .ok()
            .map(|uuid| Self(uuid.hyphenated().to_string()))
    }

    /// `<alias>.collection_id = '<id>'`.
    fn condition(&self, alias: &str) -> String {
        format!("{alias}.collection_id = '{}'", self.0)
    }
}

/// The alias of the other collection's record in an `@collection` comparison.
pub(crate) const ANY_ALIAS: &str = "t";

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
    ///
    /// For a related record it is a scalar subquery reading the outer row through the
    /// table name `records` (inner tables are aliased, so the name reaches the row being
    /// filtered); for `@collection` it reads the alias [`ANY_ALIAS`], which the comparison
    /// wraps in `EXISTS (SELECT 1 FROM records AS t …)`.
    pub(crate) fn expr(&self) -> String {
        match &self.path {
            // Written exactly like the expression indexes on `indexed` fields, so SQLite
            // can use them.
            Path::Own => self.value_in(None),
            Path::AnyOf(_) => self.value_in(Some(ANY_ALIAS)),
            Path::Related(hops) => related(hops, &self.value_in(Some(&alias(hops.len())))),
        }
    }

    /// The `json_each(...)` table source iterating a list field's elements.
    pub(crate) fn json_each(&self) -> String {
        let container = match (&self.path, self.source) {
            (_, Source::Column(_)) => return format!("json_each({})", self.expr()),
            (Path::Own, Source::Data) => "data".to_owned(),
            (Path::AnyOf(_), Source::Data) => format!("{ANY_ALIAS}.data"),
            (Path::Related(hops), Source::Data) => {
                related(hops, &format!("{}.data", alias(hops.len())))
            }
        };
        format!("json_each({container}, '$.{}')", self.name)
    }

    /// The value in the row called `table` (the unqualified row when `None`).
    fn value_in(&self, table: Option<&str>) -> String {
        let prefix = table.map(|t| format!("{t}.")).unwrap_or_default();
        match self.source {
            Source::Column(column) => format!("{prefix}{}", column.name()),
            Source::Data => format!("json_extract({prefix}data, '$.{}')", self.name),
        }
    }

    /// The `EXISTS (SELECT 1 FROM records AS t WHERE …` opening that an `@collection`
    /// comparison is wrapped in (closed by the caller with `))`), or `None`.
    pub(crate) fn any_of_opening(&self) -> Option<String> {
        match &self.path {
            Path::AnyOf(id) => Some(format!(
                "EXISTS (SELECT 1 FROM records AS {ANY_ALIAS} WHERE {} AND (",
                id.condition(ANY_ALIAS)
            )),
            _ => None,
        }
    }
}

/// The alias of the record reached after `n` hops.
fn alias(n: usize) -> String {
    format!("r{n}")
}

/// `value` (an expression over the row aliased `r<hops.len()>`) read from the record the
/// relation path `hops` leads to: nested scalar subqueries, one per hop.
fn related(hops: &[Hop], value: &str) -> String {
    // The id the first hop follows is in the outer row, named by table.
    let mut id = match hops.first() {
        Some(hop) => format!("json_extract(records.data, '$.{}')", hop.field),
        None => return value.to_owned(),
    };
    for (i, pair) in hops.windows(2).enumerate() {
        let (from, to) = (&pair[0], &pair[1]);
        let here = alias(i + 1);
        id = format!(
            "(SELECT json_extract({here}.data, '$.{}') FROM records AS {here} \
             WHERE {here}.id = {id} AND {})",
            to.field,
            from.target.condition(&here)
        );
    }
    let last = alias(hops.len());
    let target = hops
        .last()
        .map(|hop| hop.target.condition(&last))
        .unwrap_or_default();
    format!("(SELECT {value} FROM records AS {last} WHERE {last}.id = {id} AND {target})")
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
            path: Path::Own,
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
        path: Path::Own,
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
pub(crate) fn kind_of(field_type: FieldType) -> Kind {
    match field_type {
        FieldType::String
        | FieldType::Text
        | FieldType::Email
        | FieldType::Url
        | FieldType::Select
        | FieldType::Relation
        | FieldType::File => Kind::Text,
        FieldType::Int => Kind::Int,
        FieldType::Float => Kind::Float,
        FieldType::Boolean => Kind::Boolean,
        FieldType::Datetime => Kind::Datetime,
        FieldType::Date => Kind::Date,
        FieldType::Json => Kind::Json,
        // A list of ids compares like a list of strings: `tags = '<id>'` holds when the
        // list holds that id.
        FieldType::ListString | FieldType::ListFile | FieldType::ListRelation => {
            Kind::List(ListOf::Text)
        }
        FieldType::ListInt => Kind::List(ListOf::Int),
        FieldType::ListFloat => Kind::List(ListOf::Float),
    }
}

/// `^[a-z][a-z0-9_]{0,62}$`: the schema's rule for field names, which makes a name safe
/// inside a SQL string literal and a JSON path.
pub(crate) fn is_safe_name(name: &str) -> bool {
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
