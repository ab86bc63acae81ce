//! The test schema, a seeded in-memory `records` table and helpers.

use rusqlite::{Connection, params_from_iter};
use tinybase::collections::filter::{QueryError, SqlCondition, SqlParam, compile_filter};
use tinybase::collections::schema::CollectionSchema;

/// One field of every type.
pub(crate) fn schema() -> CollectionSchema {
    serde_json::from_value(serde_json::json!({"fields": [
        {"name": "title", "type": "string"},
        {"name": "body", "type": "text"},
        {"name": "rating", "type": "int"},
        {"name": "price", "type": "float"},
        {"name": "published", "type": "boolean"},
        {"name": "due", "type": "datetime"},
        {"name": "day", "type": "date"},
        {"name": "email", "type": "email"},
        {"name": "site", "type": "url"},
        {"name": "status", "type": "select", "values": ["draft", "live"]},
        {"name": "author", "type": "relation", "collection": "people"},
        {"name": "meta", "type": "json"},
        {"name": "tags", "type": "list[string]"},
        {"name": "scores", "type": "list[int]"},
        {"name": "weights", "type": "list[float]"},
    ]}))
    .unwrap()
}

/// Compiles a filter that must be valid.
#[track_caller]
pub(crate) fn compile(filter: &str) -> SqlCondition {
    compile_filter(filter, &schema()).unwrap_or_else(|err| panic!("{filter:?}: {err}"))
}

/// Compiles a filter that must be rejected.
#[track_caller]
pub(crate) fn reject(filter: &str) -> QueryError {
    match compile_filter(filter, &schema()) {
        Ok(condition) => panic!("{filter:?} compiled to {condition:?}"),
        Err(err) => err,
    }
}

/// Asserts a filter's exact SQL and parameters.
#[track_caller]
pub(crate) fn assert_sql(filter: &str, sql: &str, params: &[SqlParam]) {
    let condition = compile(filter);
    assert_eq!(condition.sql, sql, "SQL of {filter:?}");
    assert_eq!(condition.params, params, "params of {filter:?}");
}

/// Shorthand for a text parameter.
pub(crate) fn text(value: &str) -> SqlParam {
    SqlParam::Text(value.to_owned())
}

/// `(id, owner_id, data, created_at)` of the seeded records.
const ROWS: &[(&str, Option<&str>, &str, &str)] = &[
    (
        "r1",
        Some("u1"),
        r#"{"title": "Rust in Action", "body": "Learn systems programming", "rating": 5,
            "price": 39.5, "published": true, "due": "2026-02-01T10:00:00.000000Z",
            "day": "2026-02-01", "email": "ann@example.com", "status": "live",
            "meta": {"a": 1}, "tags": ["rust", "books"], "scores": [1, 2, 3],
            "weights": [0.5]}"#,
        "2026-01-01T00:00:00.000000Z",
    ),
    (
        "r2",
        Some("u2"),
        r#"{"title": "100% Rust", "rating": 3, "price": 10.0, "published": false,
            "status": "draft", "meta": "plain", "tags": ["100%", "sale"], "scores": [10]}"#,
        "2026-01-02T00:00:00.000000Z",
    ),
    (
        "r3",
        Some("u1"),
        r#"{"title": "snake_case tips", "rating": 1, "published": true, "tags": [],
            "scores": []}"#,
        "2026-01-03T00:00:00.000000Z",
    ),
    (
        "r4",
        Some("u2"),
        r#"{"title": "Go basics", "rating": null, "tags": null, "meta": null}"#,
        "2026-01-04T00:00:00.000000Z",
    ),
    ("r5", None, "{}", "2026-01-05T00:00:00.000000Z"),
    (
        "r6",
        Some("u3"),
        r#"{"title": "C:\\temp\\RUST", "rating": 4, "price": 2.25, "published": false,
            "due": "2025-12-31T23:00:00.000000Z", "day": "2025-12-31", "tags": ["RUST"],
            "weights": [1.5, 2.5], "meta": true}"#,
        "2026-01-06T00:00:00.000000Z",
    ),
];

/// An in-memory database with the `records` columns the compiled SQL refers to.
pub(crate) fn seeded_db() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE records (id TEXT PRIMARY KEY, owner_id TEXT, data TEXT NOT NULL,
                               created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
    )
    .unwrap();
    for (id, owner, data, created_at) in ROWS {
        // Store the JSON compactly, as the record service does.
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        conn.execute(
            "INSERT INTO records (id, owner_id, data, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            rusqlite::params![id, owner, data.to_string(), created_at],
        )
        .unwrap();
    }
    conn
}

/// Runs a compiled condition (and optional ORDER BY list); returns the ids in result order.
pub(crate) fn run(
    conn: &Connection,
    condition: &SqlCondition,
    order_by: Option<&str>,
) -> rusqlite::Result<Vec<String>> {
    let sql = format!(
        "SELECT id FROM records WHERE ({}) ORDER BY {}",
        condition.sql,
        order_by.unwrap_or("id")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(condition.params.iter()), |row| row.get(0))?;
    rows.collect()
}
