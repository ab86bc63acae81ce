//! The `sort` parameter: `-created_at,title` → an `ORDER BY` list.

use super::MAX_QUERY_CHARS;
use super::error::{QueryError, quote};
use super::fields;
use crate::collections::schema::CollectionSchema;

/// Compiles a `sort` parameter into an `ORDER BY` list (without the words `ORDER BY`).
///
/// The text is a comma-separated list of fields, each optionally prefixed with `-`
/// (descending) or `+` (ascending, the default); whitespace around items is ignored, so a
/// `+` that a query string decoded into a space does no harm. Fields are system fields
/// (`id`, `owner_id`, `created_at`, `updated_at`) or schema fields other than lists and
/// `json`. Unless `id` is already a key, the list ends with `id` in the direction of the
/// last key, so that the order is total and pages never overlap or skip records. Nulls
/// (absent values) sort first ascending and last descending, as SQLite orders them.
///
/// ```
/// use tinybase::collections::filter::compile_sort;
/// use tinybase::collections::schema::CollectionSchema;
///
/// let schema: CollectionSchema =
///     serde_json::from_str(r#"{"fields": [{"name": "rating", "type": "int"}]}"#).unwrap();
/// assert_eq!(
///     compile_sort("-rating,created_at", &schema).unwrap(),
///     "json_extract(data, '$.rating') DESC, created_at ASC, id ASC"
/// );
/// ```
///
/// # Errors
/// A [`QueryError`] for empty text or an empty item, an unknown, unsortable or repeated
/// field, or text longer than [`MAX_QUERY_CHARS`].
pub fn compile_sort(text: &str, schema: &CollectionSchema) -> Result<String, QueryError> {
    Ok(order_by(&sort_keys(text, schema, None)?))
}

/// One key of an `ORDER BY` list: an SQL expression and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The SQL expression sorted by (a column, `json_extract(…)` or the search rank).
    pub expr: String,
    /// `true` for `DESC`.
    pub descending: bool,
}

/// The text of an `ORDER BY` list (without the words `ORDER BY`) for `keys`.
pub fn order_by(keys: &[SortKey]) -> String {
    keys.iter()
        .map(|key| {
            let direction = if key.descending { "DESC" } else { "ASC" };
            format!("{} {direction}", key.expr)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keys of a `sort` parameter, as [`compile_sort`] explains, ending with `id`.
/// `rank` is the SQL expression `@rank` stands for: the relevance of a full-text search
/// (smaller is better, so `@rank` puts the best matches first). Without a search there
/// is no rank, and `@rank` is an error.
///
/// # Errors
/// As for [`compile_sort`], and `@rank` without `rank`.
pub fn sort_keys(
    text: &str,
    schema: &CollectionSchema,
    rank: Option<&str>,
) -> Result<Vec<SortKey>, QueryError> {
    if text.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(QueryError::at(
            MAX_QUERY_CHARS,
            format!("sort longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    if text.trim().is_empty() {
        return Err(QueryError::at(0, "empty sort").hint("name fields such as -created_at,title"));
    }

    let mut keys: Vec<(String, &str)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut item_start = 0;
    for item in text.split(',') {
        let leading = leading_whitespace(item);
        let trimmed = item.trim();
        let at = item_start + leading;
        item_start += item.chars().count() + 1;
        if trimmed.is_empty() {
            return Err(QueryError::at(at, "empty sort item")
                .hint("separate fields with single commas, e.g. -created_at,title"));
        }
        let (direction, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => ("DESC", rest),
            None => ("ASC", trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let sign = trimmed.len() - rest.len();
        let name = rest.trim_start();
        let name_at = at + sign + leading_whitespace(rest);

        if name == "@rank" {
            let Some(rank) = rank else {
                return Err(
                    QueryError::at(name_at, "cannot sort by @rank without a search")
                        .hint("add search=words, or sort by a field"),
                );
            };
            if names.iter().any(|n| n == "@rank") {
                return Err(QueryError::at(name_at, "@rank appears twice in the sort"));
            }
            keys.push((rank.to_owned(), direction));
            names.push("@rank".to_owned());
            continue;
        }
        let Some(field) = fields::resolve(name, schema) else {
            return Err(unknown_sort_field(name, name_at, schema));
        };
        if !field.kind.is_sortable() {
            return Err(QueryError::at(
                name_at,
                format!("cannot sort by {} field `{}`", field.type_name, field.name),
            )
            .hint("sort by a single-valued field"));
        }
        if names.contains(&field.name) {
            return Err(QueryError::at(
                name_at,
                format!("field `{}` appears twice in the sort", field.name),
            ));
        }
        keys.push((field.expr(), direction));
        names.push(field.name);
    }

    let last_direction = keys.last().map_or("ASC", |(_, direction)| *direction);
    if !names.iter().any(|name| name == "id") {
        keys.push(("id".to_owned(), last_direction));
    }
    Ok(keys
        .into_iter()
        .map(|(expr, direction)| SortKey {
            expr,
            descending: direction == "DESC",
        })
        .collect())
}

fn leading_whitespace(text: &str) -> usize {
    text.chars().take_while(|c| c.is_whitespace()).count()
}

fn unknown_sort_field(name: &str, at: usize, schema: &CollectionSchema) -> QueryError {
    if name == "collection" {
        return QueryError::at(at, "cannot sort by `collection`")
            .hint("a record list is already for one collection");
    }
    QueryError::at(at, format!("unknown sort field {}", quote(name))).hint(format!(
        "sortable fields: {}",
        fields::known_names(schema, true)
    ))
}
