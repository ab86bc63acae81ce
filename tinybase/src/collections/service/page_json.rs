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
        if self.items > 0 && self.out.len() > self.max_bytes {
            self.out.truncate(start);
            self.truncated = true;
            return Ok(false);
        }
        self.items += 1;
        Ok(true)
    }

    /// The finished page: items, then the page fields, then `"truncated": true` when the
    /// budget cut the page short.
    pub(crate) fn finish(mut self, page: Pagination, total_items: u64) -> Vec<u8> {
        let total_pages = total_items.div_ceil(u64::from(page.per_page));
        let tail = format!(
            "],\"page\":{},\"per_page\":{},\"total_items\":{total_items},\"total_pages\":{total_pages}",
            page.page, page.per_page
        );
        self.out.extend_from_slice(tail.as_bytes());
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
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, row.get_ref(0)?.as_str()?)?;
    out.extend_from_slice(b",\"collection\":");
    out.extend_from_slice(collection.as_bytes());
    out.extend_from_slice(b",\"owner_id\":");
    serde_json::to_writer(&mut *out, &row.get_ref(1)?.as_str_or_null()?)?;
    // Timestamps are re-printed rather than copied: stored text always has six fractional
    // digits, the API prints as few as the value needs.
    out.extend_from_slice(b",\"created_at\":");
    serde_json::to_writer(&mut *out, &parse_timestamp(row.get_ref(3)?.as_str()?)?)?;
    out.extend_from_slice(b",\"updated_at\":");
    serde_json::to_writer(&mut *out, &parse_timestamp(row.get_ref(4)?.as_str()?)?)?;
    out.extend_from_slice(b",\"data\":");
    // Valid JSON by the table's CHECK (json_valid(data)).
    out.extend_from_slice(row.get_ref(2)?.as_str()?.as_bytes());
    out.push(b'}');
    Ok(())
}
