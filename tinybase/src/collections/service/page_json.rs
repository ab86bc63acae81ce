//! Writes a page of records as JSON straight from their stored text.
//!
//! A record's data is stored as JSON text. Parsing it into `serde_json` values only to
//! print it again costs many times its size in memory, once per record of the page; a
//! page of large records then took gigabytes. This writer copies the stored text as it
//! is, so a page costs about its own size, and stops before the page would outgrow a
//! byte budget. Single records are written the same way.

use rusqlite::Row;

use crate::Result;
use crate::db::parse_timestamp;
use crate::pagination::Pagination;

/// A page of records being written as the JSON of a `Page<Record>`.
pub(crate) struct PageWriter {
    out: Vec<u8>,
    /// The collection's name, as a JSON string.
    collection: String,
    items: usize,
    max_bytes: usize,
    truncated: bool,
}

impl PageWriter {
    /// An empty page of `collection`'s records that stops growing at `max_bytes` (the
    /// first record is always written, whatever its size).
    pub(crate) fn new(collection: &str, max_bytes: usize) -> Result<Self> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(b"{\"items\":[");
        Ok(Self {
            out,
            collection: serde_json::to_string(collection)?,
            items: 0,
            max_bytes,
            truncated: false,
        })
    }

    /// Appends the record in `row` (`id, owner_id, data, created_at, updated_at`).
    /// Returns `false`, writing nothing, when it would take the page over its budget.
    ///
    /// # Errors
    /// A stored value of the wrong type or a bad stored timestamp.
    pub(crate) fn push(&mut self, row: &Row<'_>) -> Result<bool> {
        let start = self.out.len();
        if self.items > 0 {
            self.out.push(b',');
        }
        write_record(&mut self.out, row, &self.collection)?;
        Ok(self.keep_or_undo(start))
    }

    /// Appends a record written by `write` (given the output and the collection's name as
    /// a JSON string), with the budget of [`PageWriter::push`].
    ///
    /// # Errors
    /// Those of `write`.
    pub(crate) fn push_with(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>, &str) -> Result<()>,
    ) -> Result<bool> {
        let start = self.out.len();
        if self.items > 0 {
            self.out.push(b',');
        }
        write(&mut self.out, &self.collection)?;
        Ok(self.keep_or_undo(start))
    }

    /// Keeps the record written from `start` if the page is still within its budget.
    fn keep_or_undo(&mut self, start: usize) -> bool {
        if self.items > 0 && self.out.len() > self.max_bytes {
            self.out.truncate(start);
            self.truncated = true;
            return false;
        }
        self.items += 1;
        true
    }

    /// The finished page: items, then the page fields, `next_cursor` (null on the last
    /// page), then `"truncated": true` when the budget cut the page short.
    /// Without a count (`skip_total`), the totals are null.
    pub(crate) fn finish(
        mut self,
        page: Pagination,
        total_items: Option<u64>,
        next_cursor: Option<String>,
    ) -> Vec<u8> {
        let (total_items, total_pages) = match total_items {
            Some(total) => (
                total.to_string(),
                total.div_ceil(u64::from(page.per_page)).to_string(),
            ),
            None => ("null".to_owned(), "null".to_owned()),
        };
        let tail = format!(
            "],\"page\":{},\"per_page\":{},\"total_items\":{total_items},\"total_pages\":{total_pages}",
            page.page, page.per_page
        );
        self.out.extend_from_slice(tail.as_bytes());
        self.out.extend_from_slice(b",\"next_cursor\":");
        // A cursor is base64url text: nothing in it needs escaping.
        match next_cursor {
            Some(cursor) => {
                self.out.push(b'"');
                self.out.extend_from_slice(cursor.as_bytes());
                self.out.push(b'"');
            }
            None => self.out.extend_from_slice(b"null"),
        }
        if self.truncated {
            self.out.extend_from_slice(b",\"truncated\":true");
        }
        self.out.push(b'}');
        self.out
    }
}

/// Appends the JSON of the record in `row` (`id, owner_id, data, created_at,
/// updated_at`) of the collection whose name, as a JSON string, is `collection`: the same
/// text `serde_json` prints for a `Record`, with the data copied as stored.
///
/// # Errors
/// A stored value of the wrong type or a bad stored timestamp.
pub(crate) fn write_record(out: &mut Vec<u8>, row: &Row<'_>, collection: &str) -> Result<()> {
    write_record_open(
        out,
        row.get_ref(0)?.as_str()?,
        collection,
        row.get_ref(1)?.as_str_or_null()?,
        row.get_ref(3)?.as_str()?,
        row.get_ref(4)?.as_str()?,
        // Valid JSON by the table's CHECK (json_valid(data)).
        row.get_ref(2)?.as_str()?,
    )?;
    out.push(b'}');
    Ok(())
}

/// Appends a record's JSON from its stored columns, without the closing brace, so that
/// more members (`"expand"`) can follow. `collection` is a JSON string; `data` is the
/// stored JSON text; timestamps are as stored.
///
/// # Errors
/// A bad stored timestamp.
pub(crate) fn write_record_open(
    out: &mut Vec<u8>,
    id: &str,
    collection: &str,
    owner_id: Option<&str>,
    created_at: &str,
    updated_at: &str,
    data: &str,
) -> Result<()> {
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, id)?;
    out.extend_from_slice(b",\"collection\":");
    out.extend_from_slice(collection.as_bytes());
    out.extend_from_slice(b",\"owner_id\":");
    serde_json::to_writer(&mut *out, &owner_id)?;
    // Timestamps are re-printed rather than copied: stored text always has six fractional
    // digits, the API prints as few as the value needs.
    out.extend_from_slice(b",\"created_at\":");
    serde_json::to_writer(&mut *out, &parse_timestamp(created_at)?)?;
    out.extend_from_slice(b",\"updated_at\":");
    serde_json::to_writer(&mut *out, &parse_timestamp(updated_at)?)?;
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data.as_bytes());
    Ok(())
}
