//! Helpers for the collection and record tests: creating collections and records over
//! HTTP, listing with a query string, and looking at the database behind the server.

use reqwest::StatusCode;
use serde_json::{Map, Value};

use super::TestServer;

/// `/api/collections/<name>/records`.
pub fn records_path(collection: &str) -> String {
    format!("/api/collections/{collection}/records")
}

/// `/api/collections/<name>/records/<id>`.
pub fn record_path(collection: &str, id: &str) -> String {
    format!("/api/collections/{collection}/records/{id}")
}

/// Percent-encodes a query-string value. Unreserved characters and parentheses stay as
/// they are (both are legal in a query), so deeply nested filters keep a short URL.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `?k=v&…` with every value encoded; empty for no pairs.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect();
    format!("?{}", parts.join("&"))
}

/// `error.details.fields` of an error body; panics when missing.
#[track_caller]
pub fn field_errors(body: &Value) -> &Map<String, Value> {
    body["error"]["details"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no details.fields in {body}"))
}

/// The sorted keys of `details.fields`.
#[track_caller]
pub fn field_error_keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = field_errors(body).keys().cloned().collect();
    keys.sort();
    keys
}

/// The ids of a list response's items, in order.
#[track_caller]
pub fn item_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {list}"))
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}

/// The values of `data.<field>` of a list response's items, in order.
#[track_caller]
pub fn item_values(list: &Value, field: &str) -> Vec<Value> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {list}"))
        .iter()
        .map(|item| item["data"].get(field).cloned().unwrap_or(Value::Null))
        .collect()
}

/// Asserts the page numbers of a list response.
#[track_caller]
pub fn assert_page(list: &Value, page: u64, per_page: u64, total_items: u64, total_pages: u64) {
    assert_eq!(list["page"], page, "page: {list}");
    assert_eq!(list["per_page"], per_page, "per_page: {list}");
    assert_eq!(list["total_items"], total_items, "total_items: {list}");
    assert_eq!(list["total_pages"], total_pages, "total_pages: {list}");
    let object = list.as_object().expect("list object");
    // Record lists also carry `next_cursor` (other lists do not): a cursor exactly when
    // a later page exists.
    if let Some(cursor) = object.get("next_cursor") {
        assert_eq!(
            cursor.is_string(),
            page < total_pages,
            "next_cursor: {list}"
        );
        assert!(
            cursor.is_string() || cursor.is_null(),
            "next_cursor: {list}"
        );
    }
    let mut keys: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| *key != "next_cursor")
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["items", "page", "per_page", "total_items", "total_pages"],
        "{list}"
    );
}

/// Asserts that `record` has exactly the record shape for `collection`.
#[track_caller]
pub fn assert_record_shape(record: &Value, collection: &str, owner_id: Option<&str>) {
    let object = record
        .as_object()
        .unwrap_or_else(|| panic!("record is not an object: {record}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "collection",
            "created_at",
            "data",
            "id",
            "owner_id",
            "updated_at"
        ],
        "record keys: {record}"
    );
    let id = record["id"].as_str().expect("record id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id is not a UUID: {id}");
    assert_eq!(record["collection"], collection, "{record}");
    match owner_id {
        Some(owner) => assert_eq!(record["owner_id"], owner, "{record}"),
        None => assert!(record["owner_id"].is_null(), "{record}"),
    }
    let created = super::timestamp(&record["created_at"]);
    let updated = super::timestamp(&record["updated_at"]);
    assert!(updated >= created, "{record}");
    assert!(record["data"].is_object(), "{record}");
}

impl TestServer {
    /// Creates a collection as `token`; panics unless the answer is 201.
    pub async fn create_collection(&self, token: &str, body: Value) -> Value {
        let (status, created) = self.post("/api/collections", Some(token), body).await;
        assert_eq!(status, StatusCode::CREATED, "create collection: {created}");
        created
    }

    /// Changes a collection as `token`; panics unless the answer is 200.
    pub async fn patch_collection(&self, token: &str, name: &str, body: Value) -> Value {
        let (status, changed) = self
            .patch(&format!("/api/collections/{name}"), Some(token), body)
            .await;
        assert_eq!(status, StatusCode::OK, "patch collection {name}: {changed}");
        changed
    }

    /// Creates a record; panics unless the answer is 201. Returns the record.
    pub async fn create_record(&self, collection: &str, token: Option<&str>, data: Value) -> Value {
        let (status, record) = self.post(&records_path(collection), token, data).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create record in {collection}: {record}"
        );
        record
    }

    /// Lists records with query parameters (encoded here).
    pub async fn list_records(
        &self,
        collection: &str,
        token: Option<&str>,
        query: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let path = format!("{}{}", records_path(collection), query_string(query));
        self.get(&path, token).await
    }

    /// Lists records; panics unless the answer is 200. Returns the page.
    pub async fn list_ok(
        &self,
        collection: &str,
        token: Option<&str>,
        query: &[(&str, &str)],
    ) -> Value {
        let (status, list) = self.list_records(collection, token, query).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "list {collection} {query:?}: {list}"
        );
        list
    }

    /// How many rows the `records` table holds, straight from the database.
    pub async fn all_records_count(&self) -> i64 {
        self.app
            .database()
            .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?))
            .await
            .expect("count records")
    }

    /// How many records the collection with this id holds, straight from the database.
    pub async fn records_in(&self, collection_id: &str) -> i64 {
        let id = collection_id.to_owned();
        self.app
            .database()
            .read(move |conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM records WHERE collection_id = ?1",
                    [id],
                    |r| r.get(0),
                )?)
            })
            .await
            .expect("count records")
    }

    /// The stored row of a record: `(owner_id, data, created_at, updated_at)`.
    pub async fn raw_record(&self, id: &str) -> Option<(Option<String>, String, String, String)> {
        let id = id.to_owned();
        self.app
            .database()
            .read(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT owner_id, data, created_at, updated_at FROM records WHERE id = ?1",
                )?;
                let mut rows = stmt.query([id])?;
                match rows.next()? {
                    Some(row) => Ok(Some((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))),
                    None => Ok(None),
                }
            })
            .await
            .expect("read record")
    }

    /// Whether a table of this name exists.
    pub async fn table_exists(&self, name: &str) -> bool {
        let name = name.to_owned();
        self.app
            .database()
            .read(move |conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [name],
                    |r| r.get::<_, i64>(0),
                )? == 1)
            })
            .await
            .expect("read sqlite_master")
    }

    /// `(name, sql)` of every index on `records` whose name starts with `prefix`, by name.
    pub async fn indexes_with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let prefix = prefix.to_owned();
        self.app
            .database()
            .read(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT name, sql FROM sqlite_master
                     WHERE type = 'index' AND substr(name, 1, length(?1)) = ?1 ORDER BY name",
                )?;
                let rows = stmt
                    .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
                Ok(rows)
            })
            .await
            .expect("read sqlite_master")
    }

    /// The `detail` column of `EXPLAIN QUERY PLAN <sql>` with `params` bound.
    pub async fn query_plan(&self, sql: &str, params: Vec<Value>) -> Vec<String> {
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        self.app
            .database()
            .read(move |conn| {
                let params: Vec<rusqlite::types::Value> = params
                    .iter()
                    .map(|v| match v {
                        Value::Number(n) if n.is_i64() => {
                            rusqlite::types::Value::Integer(n.as_i64().unwrap_or_default())
                        }
                        Value::Number(n) => {
                            rusqlite::types::Value::Real(n.as_f64().unwrap_or_default())
                        }
                        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
                        _ => rusqlite::types::Value::Null,
                    })
                    .collect();
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                        r.get::<_, String>(3)
                    })?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(rows)
            })
            .await
            .expect("explain query plan")
    }
}

/// What SQLite does for one statement: its query plan, and the virtual-machine steps it
/// takes to run to the end. Steps count work without a clock, so a noisy machine cannot
/// change them.
#[derive(Debug)]
pub struct StatementWork {
    /// The `detail` column of `EXPLAIN QUERY PLAN`.
    pub plan: Vec<String>,
    /// `SQLITE_STMTSTATUS_VM_STEP` after stepping through every row.
    pub steps: i64,
}

impl TestServer {
    /// The SQL the record service runs to list `query` as an admin (see
    /// `Service::list_statements`).
    pub fn list_statements(
        &self,
        collection: &str,
        query: tinybase::collections::RecordQuery,
    ) -> tinybase::collections::ListStatements {
        self.app
            .collections()
            .list_statements(&tinybase::collections::Caller::system(), collection, &query)
            .expect("list statements")
    }

    /// Plans and runs `sql` with `params` on a fresh read connection from the pool.
    pub async fn statement_work(
        &self,
        sql: &str,
        params: &[tinybase::collections::filter::SqlParam],
    ) -> StatementWork {
        let sql = sql.to_owned();
        let params = params.to_vec();
        self.app
            .database()
            .read(move |conn| {
                let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let plan = explain
                    .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                        r.get::<_, String>(3)
                    })?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                let mut stmt = conn.prepare(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                while rows.next()?.is_some() {}
                drop(rows);
                let steps = stmt.get_status(rusqlite::StatementStatus::VmStep);
                Ok(StatementWork {
                    plan,
                    steps: i64::from(steps),
                })
            })
            .await
            .expect("plan and run a statement")
    }
}

/// The prefix of every index name of a collection: `idx_records_<id without dashes>_`.
pub fn index_prefix(collection_id: &str) -> String {
    format!("idx_records_{}_", collection_id.replace('-', ""))
}
