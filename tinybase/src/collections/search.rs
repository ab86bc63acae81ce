//! Full-text search over `searchable` fields, with SQLite FTS5.
//!
//! The index lives in the tables of migration 0009. Triggers on `records` keep it in step
//! with every record write, in the writing transaction; this module keeps the list of
//! searchable fields per collection ([`sync`]), rebuilding the collection's part of the
//! index when that list changes, and turns a client's words into an FTS5 query that
//! cannot use FTS5's own syntax ([`match_expression`]).

use rusqlite::{Connection, params};
use serde_json::json;

use super::indexes::collection_condition;
use super::schema::{CollectionSchema, FieldType};
use crate::{Error, Result};

/// The longest `search` accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 1000;
/// The most words one `search` may hold.
pub const MAX_SEARCH_WORDS: usize = 32;

/// The SQL expression `sort=@rank` orders by: the BM25 score of the match (smaller is a
/// better match), a column of the join from [`hits_join`].
pub(crate) const RANK_EXPRESSION: &str = "search_hits.search_rank";

/// Whether a field of this type may be `searchable`.
pub fn is_searchable_type(field_type: FieldType) -> bool {
    matches!(field_type, FieldType::String | FieldType::Text)
}

/// The JSON paths of the schema's searchable fields, in schema order.
fn searchable_paths(schema: &CollectionSchema) -> Vec<String> {
    schema
        .fields
        .iter()
        .filter(|field| field.searchable && is_searchable_type(field.field_type))
        // Names are `^[a-z][a-z0-9_]*$` (checked with the schema), so quoting is plain.
        .map(|field| format!("$.\"{}\"", field.name))
        .collect()
}

/// Whether the collection whose schema this is can be searched.
pub fn has_searchable_fields(schema: &CollectionSchema) -> bool {
    !searchable_paths(schema).is_empty()
}

/// Makes the index of a collection match its schema: when the searchable fields changed,
/// stores the new list and re-indexes every record of the collection. Runs in the
/// transaction that saves the schema, so a search never sees a half-built index.
///
/// # Errors
/// Internal errors only.
pub(crate) fn sync(
    conn: &Connection,
    collection_id: &str,
    schema: &CollectionSchema,
) -> Result<()> {
    let wanted = searchable_paths(schema);
    let existing = conn
        .prepare("SELECT path FROM search_fields WHERE collection_id = ?1 ORDER BY position")?
        .query_map([collection_id], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if existing == wanted {
        return Ok(());
    }
    conn.execute(
        "DELETE FROM search_fields WHERE collection_id = ?1",
        [collection_id],
    )?;
    conn.execute(
        "DELETE FROM search_index
         WHERE rowid IN (SELECT id FROM search_rows WHERE collection_id = ?1)",
        [collection_id],
    )?;
    conn.execute(
        "DELETE FROM search_rows WHERE collection_id = ?1",
        [collection_id],
    )?;
    if wanted.is_empty() {
        return Ok(());
    }
    for (position, path) in wanted.iter().enumerate() {
        conn.execute(
            "INSERT INTO search_fields (collection_id, position, path) VALUES (?1, ?2, ?3)",
            params![
                collection_id,
                i64::try_from(position).unwrap_or(i64::MAX),
                path
            ],
        )?;
    }
    conn.execute(
        "INSERT INTO search_rows (record_id, collection_id)
         SELECT id, collection_id FROM records WHERE collection_id = ?1",
        [collection_id],
    )?;
    // The same text the triggers write: each searchable value, one per line.
    conn.execute(
        "INSERT INTO search_index (rowid, body)
         SELECT s.id, (SELECT group_concat(json_extract(r.data, f.path), char(10))
                       FROM search_fields AS f WHERE f.collection_id = r.collection_id)
         FROM search_rows AS s JOIN records AS r ON r.id = s.record_id
         WHERE s.collection_id = ?1",
        [collection_id],
    )?;
    Ok(())
}

/// The join that narrows a record list to the matches of a search and gives each its
/// rank (`search_hits.search_rank`). It takes one parameter, the FTS5 query from
/// [`match_expression`]. The collection id is spliced in as the literal of
/// [`collection_condition`] (a UUID we generated, never client text).
///
/// # Errors
/// Internal error if the collection id is not a UUID.
pub(crate) fn hits_join(collection_id: &str) -> Result<String> {
    let condition = collection_condition(collection_id)?;
    Ok(format!(
        "JOIN (SELECT s.record_id AS search_record, bm25(search_index) AS search_rank \
         FROM search_index JOIN search_rows AS s ON s.id = search_index.rowid \
         WHERE search_index MATCH ? AND s.{condition}) AS search_hits \
         ON search_hits.search_record = records.id"
    ))
}

/// Turns a client's `search` text into an FTS5 query: every word must occur (in any
/// searchable field, any order), case and accents ignored. A word is a run of letters and
/// digits; everything else separates words. Each word is quoted as an FTS5 string, so
/// nothing the client writes is read as FTS5 syntax (`AND`, `NEAR(…)`, `col:`,
/// parentheses, `^`); a `*` right after a word keeps its meaning of "words starting
/// with". `None` for blank text (no search).
///
/// # Errors
/// 400 for text longer than [`MAX_SEARCH_CHARS`], with more than [`MAX_SEARCH_WORDS`]
/// words, or with no word to look for.
pub fn match_expression(text: &str) -> Result<Option<String>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.chars().nth(MAX_SEARCH_CHARS).is_some() {
        return Err(bad_search(format!(
            "search is longer than {MAX_SEARCH_CHARS} characters"
        )));
    }
    // Words are runs of letters and digits (as FTS5's tokenizer reads them); a `*`
    // right after one asks for a prefix.
    let mut terms = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(at, next)) = chars.peek() {
            if !next.is_alphanumeric() {
                break;
            }
            end = at + next.len_utf8();
            chars.next();
        }
        let prefix = if text[end..].starts_with('*') {
            "*"
        } else {
            ""
        };
        // Letters and digits only: nothing to escape inside the quotes.
        terms.push(format!("\"{}\"{prefix}", &text[start..end]));
    }
    if terms.is_empty() {
        return Err(bad_search(
            "search has no words to look for: give letters or digits".to_owned(),
        ));
    }
    if terms.len() > MAX_SEARCH_WORDS {
        return Err(bad_search(format!(
            "search has more than {MAX_SEARCH_WORDS} words"
        )));
    }
    Ok(Some(terms.join(" ")))
}

/// A 400 about the `search` parameter.
pub(crate) fn bad_search(message: String) -> Error {
    Error::bad_request(message).with_details(json!({"parameter": "search"}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');
             INSERT INTO t (body) VALUES ('Rust is fast'), ('near the café'), ('a (b) \"c\"');",
        )
        .unwrap();
        conn
    }

    fn matches(conn: &Connection, query: &str) -> Vec<i64> {
        conn.prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([query], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<i64>>>()
            .unwrap()
    }

    #[test]
    fn words_are_quoted_and_all_required() {
        assert_eq!(match_expression("  ").unwrap(), None);
        assert_eq!(
            match_expression("rust FAST").unwrap().as_deref(),
            Some("\"rust\" \"FAST\"")
        );
        assert_eq!(
            match_expression("say \"hi\" ca* it's x*y")
                .unwrap()
                .as_deref(),
            Some("\"say\" \"hi\" \"ca\"* \"it\" \"s\" \"x\"* \"y\"")
        );
        let conn = index();
        let query = |text: &str| match_expression(text).unwrap().unwrap();
        assert_eq!(matches(&conn, &query("rust FAST")), [1]);
        assert_eq!(matches(&conn, &query("cafe")), [2]);
        assert_eq!(matches(&conn, &query("NEAR")), [2]);
        // Plain words: all three must occur, none is the NEAR operator.
        assert_eq!(matches(&conn, &query("NEAR(rust fast)")), Vec::<i64>::new());
        assert_eq!(matches(&conn, &query("ru*")), [1]);
        assert_eq!(matches(&conn, &query("rust OR near")), Vec::<i64>::new());
        assert_eq!(matches(&conn, &query("body:rust")), Vec::<i64>::new());
    }

    #[test]
    fn text_without_words_or_too_long_is_refused() {
        for text in ["*", "( ) \" ^ - +", "**", "\u{0}"] {
            let err = match_expression(text).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::BadRequest, "{text:?}");
        }
        assert!(match_expression(&"a ".repeat(MAX_SEARCH_WORDS + 1)).is_err());
        assert!(match_expression(&"a".repeat(MAX_SEARCH_CHARS + 1)).is_err());
        assert!(match_expression(&"a".repeat(MAX_SEARCH_CHARS)).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Whatever the text, the query it becomes is valid FTS5: a search is answered or
        /// refused with 400, never an SQL error.
        #[test]
        fn any_text_is_a_valid_query_or_refused(text in "\\PC{0,60}|[\"*()^:+ NEAROANDx-]{0,30}") {
            let conn = index();
            if let Ok(Some(query)) = match_expression(&text) {
                let result: rusqlite::Result<Vec<i64>> = conn
                    .prepare("SELECT rowid FROM t WHERE t MATCH ?1")
                    .unwrap()
                    .query_map([&query], |row| row.get(0))
                    .unwrap()
                    .collect();
                prop_assert!(result.is_ok(), "{text:?} → {query:?}: {result:?}");
            }
        }
    }
}
