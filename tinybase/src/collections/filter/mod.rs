//! The record filter and sort language of `GET /api/collections/{name}/records`.
//!
//! A filter such as `rating >= 3 && (title ~ 'rust' || published = true)` is lexed, parsed
//! into a small tree and type-checked against the collection's schema, then compiled into a
//! SQL boolean expression over the `records` table. Literal values never reach the SQL text:
//! each one becomes a `?` parameter, so no filter can change the shape of the query. Field
//! names are only ever taken from the schema (or the fixed system fields), never from the
//! filter text.
//!
//! The language:
//! - comparisons `field op value` with `= != > >= < <= ~ !~`; the left side is always a
//!   field, the right side always a literal (string in `'…'` or `"…"` with `\'`, `\"` and
//!   `\\` escapes, number, `true`, `false`, `null`);
//! - `&&` binds tighter than `||`; parentheses group.
//!
//! Null semantics — what users rely on, and what the SQL implements:
//! - an absent field and a JSON `null` are the same: both match `field = null`;
//! - `=`, `~` and the ordering operators never match a null field;
//! - `!=` and `!~` *do* match a null field (`title != 'a'` includes records without a
//!   title), because "not equal" is expected to include the empty ones;
//! - for lists, `= v` means "some element equals v", `!= v` "no element equals v" (so an
//!   absent list matches), and `= null` matches an absent or null list, not an empty one.
//!
//! The compiled SQL is only meaningful against the `records` table, whose columns are `id`,
//! `owner_id`, `data` (the JSON object), `created_at` and `updated_at`.
//!
//! The same filters can also be evaluated in memory against one record, without SQL, by
//! [`RecordFilter`] (for realtime delivery). It accepts and rejects exactly what
//! [`compile_filter`] does and matches exactly the records the SQL selects, SQLite's
//! quirks included; a property test holds the two together.

mod check;
mod compile;
mod error;
mod eval;
#[cfg(test)]
mod eval_proptests;
mod fields;
mod lexer;
mod literal;
mod param;
mod parser;
mod rule;
mod sort;
mod sqlite_real;

pub use error::QueryError;
pub use eval::{RecordFilter, RecordView};
pub use fields::field_expression;
pub use param::SqlParam;
pub use rule::{
    CollectionLookup, CompiledRule, MAX_RELATION_HOPS, RequestValues, RuleEnv, compile_rule,
};
pub use sort::{SortKey, compile_sort, order_by, sort_keys};

use crate::collections::schema::CollectionSchema;

/// The longest filter or sort text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 4096;
/// The deepest nesting of parentheses a filter may use.
pub const MAX_NESTING: usize = 32;
/// The most comparisons one filter may contain.
pub const MAX_COMPARISONS: usize = 100;
/// The most `~` and `!~` comparisons one filter may contain. Each scans the whole text of
/// its field in every record it is tried on, so they cost far more than the others.
pub const MAX_CONTAINS: usize = 10;

/// A SQL boolean expression over the `records` table's columns with its parameters, in
/// placeholder order.
///
/// The SQL uses only positional `?` placeholders, one per entry of `params`, and is meant
/// to be embedded as `WHERE … AND (<sql>)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlCondition {
    /// The boolean expression, e.g. `json_extract(data, '$.rating') >= ?`.
    pub sql: String,
    /// The values bound to the `?` placeholders, in order.
    pub params: Vec<SqlParam>,
}

/// Compiles a filter into a SQL condition, checking every comparison against `schema`.
///
/// See the [module documentation](self) for the language and its null semantics.
///
/// ```
/// use tinybase::collections::filter::{SqlParam, compile_filter};
/// use tinybase::collections::schema::CollectionSchema;
///
/// let schema: CollectionSchema =
///     serde_json::from_str(r#"{"fields": [{"name": "rating", "type": "int"}]}"#).unwrap();
/// let condition = compile_filter("rating >= 3", &schema).unwrap();
/// assert_eq!(condition.sql, "json_extract(data, '$.rating') >= ?");
/// assert_eq!(condition.params, vec![SqlParam::Int(3)]);
/// ```
///
/// # Errors
/// A [`QueryError`] naming the problem and the character position it was found at: a
/// syntax error, an unknown field, an operator or literal that does not fit the field's
/// type, or a filter over the size limits ([`MAX_QUERY_CHARS`], [`MAX_NESTING`],
/// [`MAX_COMPARISONS`]).
pub fn compile_filter(text: &str, schema: &CollectionSchema) -> Result<SqlCondition, QueryError> {
    let expr = parser::parse(text, schema)?;
    compile::compile(&expr)
}
