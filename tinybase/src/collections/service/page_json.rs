//! Writes a page of records as JSON straight from their stored text.
//!
//! A record's data is stored as JSON text. Parsing it into `serde_json` values only to
//! print it again costs many times its size in memory, once per record of the page; a
//! page of large records then took gigabytes. This writer copies the stored text as it
//! is, in pieces that are sent as they are (never copied into one buffer), so a page
//! costs about its own size, and stops before the page would outgrow a byte budget.
//! Single records are written the same way.

use bytes::Bytes;
use rusqlite::Row;

use super::fields::Projection;
use crate::Result;
use crate::db::parse_timestamp;
use crate::pagination::Pagination;

/// The size of the pieces small records are gathered into. A record larger than this gets
/// a piece of its own, allocated at its size: a page never needs one contiguous buffer,
/// and no buffer ever doubles past what it holds.
const PIECE_BYTES: usize = 64 * 1024;

/// What a record's JSON holds beyond its stored data: id, collection, owner, timestamps
/// and punctuation (a little more than they take, so the estimate is rarely short).
pub(crate) const RECORD_OVERHEAD_BYTES: usize = 256;

/// The JSON text of a response, in the pieces it was written in; sent piece by piece,
/// each freed once written to the socket.
#[derive(Debug, Default)]
pub struct JsonPieces {
    pieces: Vec<Bytes>,
}

impl JsonPieces {
    /// The total length in bytes.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Bytes::len).sum()
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        self.pieces.iter().all(Bytes::is_empty)
    }

    /// The pieces, in order.
    pub fn into_pieces(self) -> Vec<Bytes> {
        self.pieces
    }
}

impl From<Vec<u8>> for JsonPieces {
    fn from(text: Vec<u8>) -> Self {
        Self {
            pieces: vec![Bytes::from(text)],
        }
    }
}

/// A page of records being written as the JSON of a `Page<Record>`.
pub(crate) struct PageWriter {
    /// Finished pieces of the page.
    done: Vec<Bytes>,
    /// Bytes in `done`.
    done_bytes: usize,
    /// The piece being written.
    out: Vec<u8>,
    /// The collection's name, as a JSON string.
    collection: String,
    /// What `fields` keeps of each record, applied as each one is written so that only
    /// one record is ever parsed at a time.
    projection: Option<Projection>,
    items: usize,
    max_bytes: usize,
    truncated: bool,
}

impl PageWriter {
    /// An empty page of `collection`'s records, trimmed to `projection` when given, that
    /// stops growing at `max_bytes` (the first record is always written, whatever its
    /// size).
    pub(crate) fn new(
        collection: &str,
        projection: Option<Projection>,
        max_bytes: usize,
    ) -> Result<Self> {
        let mut out = Vec::with_capacity(PIECE_BYTES);
        out.extend_from_slice(b"{\"items\":[");
        Ok(Self {
            done: Vec::new(),
            done_bytes: 0,
            out,
            collection: serde_json::to_string(collection)?,
            projection,
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
        let size = row.get_ref(2)?.as_bytes()?.len() + RECORD_OVERHEAD_BYTES;
        self.push_with(size, |out, collection| write_record(out, row, collection))
    }

    /// Appends a record of about `size` bytes written by `write` (given the output and
    /// the collection's name as a JSON string), with the budget of [`PageWriter::push`].
    ///
    /// # Errors
    /// Those of `write`.
    pub(crate) fn push_with(
        &mut self,
        size: usize,
        write: impl FnOnce(&mut Vec<u8>, &str) -> Result<()>,
    ) -> Result<bool> {
        self.make_room(size + 1);
        let start = self.out.len();
        if self.items > 0 {
            self.out.push(b',');
        }
        let record_start = self.out.len();
        write(&mut self.out, &self.collection)?;
        if let Some(projection) = &self.projection {
            let trimmed = projection.apply_to_record(&self.out[record_start..])?;
            self.out.truncate(record_start);
            self.out.extend_from_slice(&trimmed);
        }
        Ok(self.keep_or_undo(start))
    }

    /// Makes sure the current piece has `size` bytes free, starting a new piece (of at
    /// least that size) when it has not.
    fn make_room(&mut self, size: usize) {
        if self.out.capacity() - self.out.len() >= size {
            return;
        }
        let mut piece = std::mem::replace(&mut self.out, Vec::with_capacity(size.max(PIECE_BYTES)));
        // A piece cut short by a large record would otherwise keep its unused room for as
        // long as the page is held.
        piece.shrink_to_fit();
        self.done_bytes += piece.len();
        self.done.push(Bytes::from(piece));
    }

    /// Keeps the record written from `start` if the page is still within its budget.
    fn keep_or_undo(&mut self, start: usize) -> bool {
        if self.items > 0 && self.done_bytes + self.out.len() > self.max_bytes {
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
    ) -> JsonPieces {
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
        let mut pieces = self.done;
        pieces.push(Bytes::from(self.out));
        JsonPieces { pieces }
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
