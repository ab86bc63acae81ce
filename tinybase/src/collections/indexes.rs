//! Expression indexes for `indexed` and `unique` fields.
//!
//! All records share one table, so each index is partial: it covers one collection
//! (`WHERE collection_id = '<id>'`) and holds `json_extract(data, '$.<field>')`. Queries
//! repeat the collection id as a literal so SQLite can prove the partial index applies.
//! The id is a UUID we generated, never client text, so embedding it is safe.

use rusqlite::Connection;

use super::filter::field_expression;
use super::schema::CollectionSchema;
use crate::{Error, Result};

/// The literal `collection_id = '<id>'` condition for queries and partial indexes.
///
/// # Errors
/// Internal error if `collection_id` is not a UUID (it always is; this guards the splice).
pub(crate) fn collection_condition(collection_id: &str) -> Result<String> {
    let id = uuid::Uuid::parse_str(collection_id)
        .map_err(|_| Error::internal(format!("collection id {collection_id:?} is not a UUID")))?;
    Ok(format!("collection_id = '{}'", id.hyphenated()))
}

fn prefix(collection_id: &str) -> String {
    format!("idx_records_{}_", collection_id.replace('-', ""))
}

/// Makes the collection's indexes match its schema: creates missing ones, drops stale
/// ones. A new unique index over existing duplicate values fails with 409.
pub(crate) fn sync(
    conn: &Connection,
    collection_id: &str,
    schema: &CollectionSchema,
) -> Result<()> {
    let prefix = prefix(collection_id);
    let condition = collection_condition(collection_id)?;
    let mut wanted = Vec::new();
    for field in schema.fields.iter().filter(|f| f.unique || f.indexed) {
        let Some(expression) = field_expression(&field.name, schema) else {
            continue;
        };
        let name = format!("{prefix}{}", field.name);
        let unique = if field.unique { "UNIQUE " } else { "" };
        let sql =
            format!("CREATE {unique}INDEX {name} ON records ({expression}) WHERE {condition}");
        wanted.push((name, sql, field.name.clone()));
    }
    let existing = existing(conn, &prefix)?;
    let mut changed = false;
    for (name, sql) in &existing {
        if !wanted.iter().any(|(n, s, _)| n == name && s == sql) {
            conn.execute_batch(&format!("DROP INDEX {name}"))?;
            changed = true;
        }
    }
    for (name, sql, field) in wanted {
        if existing.iter().any(|(n, s)| *n == name && *s == sql) {
            continue;
        }
        changed = true;
        conn.execute_batch(&sql)
            .map_err(|err| match err.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => Error::conflict(format!(
                    "field `{field}` cannot be unique: existing records share values"
                ))
                .with_details(serde_json::json!({
                    "fields": { field.as_str(): "existing records have duplicate values" }
                })),
                _ => Error::from(err),
            })?;
    }
    if changed {
        // A new index has no statistics; without them the planner may never pick it. The
        // statistics are exact (not sampled): all collections share one table, and a
        // sample badly misjudges how many rows one collection id matches.
        conn.execute_batch("ANALYZE records")?;
    }
    Ok(())
}

/// Drops every index of a collection.
pub(crate) fn drop_all(conn: &Connection, collection_id: &str) -> Result<()> {
    for (name, _) in existing(conn, &prefix(collection_id))? {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    Ok(())
}

fn existing(conn: &Connection, prefix: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND substr(name, 1, length(?1)) = ?1",
    )?;
    let rows = stmt
        .query_map([prefix], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    Ok(rows)
}
