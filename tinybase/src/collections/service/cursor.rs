//! Cursors for `?after=`: deep pages of a record list without `OFFSET`.
//!
//! A cursor holds the sort-key values of the last record of a page (the list's order
//! always ends with `id`, so they name one position in a total order). The next page is
//! the records after that position: `WHERE (k1, k2, …) > (v1, v2, …)` in the list's own
//! directions, which an index can seek to, and which neither skips nor repeats records
//! when others are inserted or deleted meanwhile (an `OFFSET` would shift).
//!
//! The text is base64url of a small JSON document `{"o": …, "k": [...]}`: `o` fingerprints
//! the order the cursor was made for, so a cursor is refused with a list sorted another
//! way. Clients treat it as opaque; whatever they send back is only ever bound as SQL
//! parameters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::collections::filter::{SortKey, SqlParam};
use crate::{Error, Result};

/// The longest cursor accepted, in bytes (real ones are far shorter; a sort has a few
/// keys and a text key is at most a field value).
const MAX_CURSOR_BYTES: usize = 8 * 1024;

/// A short fingerprint of an `ORDER BY` list.
fn fingerprint(order: &str) -> String {
    let digest = Sha256::digest(order.as_bytes());
    digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The cursor for the position of a record whose sort-key values are `values`, in a list
/// ordered by `order`.
pub(crate) fn encode(order: &str, values: &[SqlParam]) -> String {
    let keys: Vec<Value> = values
        .iter()
        .map(|value| match value {
            SqlParam::Null => Value::Null,
            SqlParam::Int(n) => json!(n),
            SqlParam::Float(x) => json!(x),
            SqlParam::Text(text) => json!(text),
        })
        .collect();
    let document = json!({"o": fingerprint(order), "k": keys});
    URL_SAFE_NO_PAD.encode(document.to_string())
}

/// The sort-key values in a cursor made for a list ordered by `order` with `key_count`
/// keys.
///
/// # Errors
/// 400 (`details.parameter: "after"`) for text that is not a cursor, or a cursor made for
/// a list sorted another way.
pub(crate) fn decode(text: &str, order: &str, key_count: usize) -> Result<Vec<SqlParam>> {
    if text.len() > MAX_CURSOR_BYTES {
        return Err(bad_cursor("after is not a cursor from this list: too long"));
    }
    let document: Value = URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| bad_cursor("after is not a cursor: pass the next_cursor of a page"))?;
    if document["o"].as_str() != Some(fingerprint(order).as_str()) {
        return Err(bad_cursor(
            "after is a cursor for a list sorted another way: keep the same sort",
        ));
    }
    let keys = document["k"]
        .as_array()
        .filter(|keys| keys.len() == key_count)
        .ok_or_else(|| bad_cursor("after is not a cursor: pass the next_cursor of a page"))?;
    keys.iter()
        .map(|key| match key {
            Value::Null => Ok(SqlParam::Null),
            Value::String(text) => Ok(SqlParam::Text(text.clone())),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(int), _) => Ok(SqlParam::Int(int)),
                (None, Some(float)) if float.is_finite() => Ok(SqlParam::Float(float)),
                _ => Err(bad_cursor("after holds a number out of range")),
            },
            _ => Err(bad_cursor(
                "after is not a cursor: pass the next_cursor of a page",
            )),
        })
        .collect()
}

/// The condition "after the position `values`" for a list ordered by `keys`, and its
/// parameters: for each key, the earlier keys equal and this one past its value. Nulls
/// sort first ascending and last descending, as SQLite orders them.
pub(crate) fn condition(keys: &[SortKey], values: Vec<SqlParam>) -> (String, Vec<SqlParam>) {
    let mut alternatives = Vec::new();
    let mut params = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let Some(value) = values.get(index) else {
            break;
        };
        let mut parts = Vec::new();
        for (earlier, value) in keys.iter().zip(&values).take(index) {
            parts.push(format!("{} IS ?", earlier.expr));
            params.push(value.clone());
        }
        let past = match (value, key.descending) {
            (SqlParam::Null, false) => format!("{} IS NOT NULL", key.expr),
            // Nothing comes after a null in a descending order but more nulls, which
            // the later keys order.
            (SqlParam::Null, true) => "0".to_owned(),
            (value, false) => {
                params.push(value.clone());
                format!("{} > ?", key.expr)
            }
            (value, true) => {
                params.push(value.clone());
                format!("({0} < ? OR {0} IS NULL)", key.expr)
            }
        };
        parts.push(past);
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    (alternatives.join(" OR "), params)
}

/// The sort-key values of the record in `row`, whose key columns start at `first`.
///
/// # Errors
/// Internal error for a value that is not a number, text or null (a blob: never stored).
pub(crate) fn values_of(row: &Row<'_>, first: usize, count: usize) -> Result<Vec<SqlParam>> {
    (first..first + count)
        .map(|index| {
            Ok(match row.get_ref(index)? {
                ValueRef::Null => SqlParam::Null,
                ValueRef::Integer(n) => SqlParam::Int(n),
                ValueRef::Real(x) => SqlParam::Float(x),
                ValueRef::Text(bytes) => SqlParam::Text(String::from_utf8_lossy(bytes).into()),
                ValueRef::Blob(_) => {
                    return Err(Error::internal("a sort key of a record is a blob"));
                }
            })
        })
        .collect()
}

/// A 400 about the `after` parameter.
pub(crate) fn bad_cursor(message: &str) -> Error {
    Error::bad_request(message).with_details(json!({"parameter": "after"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &[(&str, bool)]) -> Vec<SortKey> {
        spec.iter()
            .map(|(expr, descending)| SortKey {
                expr: (*expr).to_owned(),
                descending: *descending,
            })
            .collect()
    }

    #[test]
    fn a_cursor_reads_back_only_for_its_own_order() {
        let values = vec![
            SqlParam::Null,
            SqlParam::Int(-3),
            SqlParam::Float(2.5),
            SqlParam::Text("ü\"x".to_owned()),
        ];
        let text = encode("a ASC, id ASC", &values);
        assert_eq!(decode(&text, "a ASC, id ASC", 4).unwrap(), values);
        assert!(decode(&text, "a DESC, id DESC", 4).is_err());
        assert!(decode(&text, "a ASC, id ASC", 3).is_err());
        for bad in ["", "!!", "e30", "bnVsbA", &"A".repeat(MAX_CURSOR_BYTES + 1)] {
            let err = decode(bad, "a ASC, id ASC", 4).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::BadRequest, "{bad:?}");
        }
    }

    #[test]
    fn the_condition_follows_each_direction_and_nulls() {
        let (sql, params) = condition(
            &keys(&[("a", false), ("b", true), ("id", true)]),
            vec![SqlParam::Int(1), SqlParam::Null, SqlParam::Text("x".into())],
        );
        assert_eq!(
            sql,
            "(a > ?) OR (a IS ? AND 0) OR (a IS ? AND b IS ? AND (id < ? OR id IS NULL))"
        );
        assert_eq!(params.len(), 5);
        let (sql, _) = condition(
            &keys(&[("a", false), ("id", false)]),
            vec![SqlParam::Null, SqlParam::Int(1)],
        );
        assert_eq!(sql, "(a IS NOT NULL) OR (a IS ? AND id > ?)");
    }
}
