//! Page requests and paged results, shared by every list in TinyBase.

use rusqlite::types::ToSql;
use rusqlite::{Connection, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Items per page when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// The most items one page may hold; larger requests are clamped to it.
pub const MAX_PER_PAGE: u32 = 500;

/// Which page a client asks for. Pages count from 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PageRequest {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500; larger values are clamped).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub per_page: Option<u32>,
}

/// A validated page request: page ≥ 1 and 1 ≤ per_page ≤ [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// Page number, from 1.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
}

impl PageRequest {
    /// Checks and normalises the request.
    ///
    /// # Errors
    /// 400 when `page` or `per_page` is zero.
    pub fn resolve(self) -> Result<Pagination> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(Error::bad_request("page must be 1 or more"));
        }
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if per_page == 0 {
            return Err(Error::bad_request("per_page must be 1 or more"));
        }
        Ok(Pagination {
            page,
            per_page: per_page.min(MAX_PER_PAGE),
        })
    }
}

impl Pagination {
    /// Rows to skip in SQL `OFFSET`.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.per_page)
    }

    /// Rows to take in SQL `LIMIT`.
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    /// Wraps one page of items and the total count into a [`Page`].
    pub fn page_of<T>(self, items: Vec<T>, total_items: u64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total_items,
            total_pages: total_items.div_ceil(u64::from(self.per_page)),
        }
    }
}

/// One page of `table`'s rows matching `condition` (with `params` bound to its numbered
/// placeholders), newest first, and the total count.
///
/// # Errors
/// Internal errors only.
pub(crate) fn newest_first<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    condition: &str,
    params: &[&dyn ToSql],
    page: Pagination,
    from_row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>> {
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE {condition}"),
        params,
        |row| row.get(0),
    )?;
    // LIMIT and OFFSET take the placeholders after the condition's.
    let (limit, offset) = (params.len() + 1, params.len() + 2);
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM {table} WHERE {condition}
         ORDER BY created_at DESC, id DESC LIMIT ?{limit} OFFSET ?{offset}"
    ))?;
    let mut all: Vec<&dyn ToSql> = params.to_vec();
    let (page_limit, page_offset) = (page.limit(), page.offset());
    all.extend([&page_limit as &dyn ToSql, &page_offset]);
    let items = stmt
        .query_map(all.as_slice(), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page.page_of(items, u64::try_from(total).unwrap_or(0)))
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// This page's number, from 1.
    pub page: u32,
    /// The page size used.
    pub per_page: u32,
    /// How many items match in all.
    pub total_items: u64,
    /// How many pages there are at this page size.
    pub total_pages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clamping_and_zero() {
        let p = PageRequest::default().resolve().unwrap();
        assert_eq!((p.page, p.per_page, p.offset()), (1, 20, 0));
        let p = PageRequest {
            page: Some(3),
            per_page: Some(10_000),
        }
        .resolve()
        .unwrap();
        assert_eq!((p.per_page, p.offset()), (500, 1000));
        assert!(
            PageRequest {
                page: Some(0),
                per_page: None
            }
            .resolve()
            .is_err()
        );
        assert!(
            PageRequest {
                page: None,
                per_page: Some(0)
            }
            .resolve()
            .is_err()
        );
    }

    #[test]
    fn total_pages_rounds_up() {
        let p = PageRequest {
            page: Some(1),
            per_page: Some(10),
        }
        .resolve()
        .unwrap();
        assert_eq!(p.page_of(Vec::<u8>::new(), 0).total_pages, 0);
        assert_eq!(p.page_of(Vec::<u8>::new(), 10).total_pages, 1);
        assert_eq!(p.page_of(Vec::<u8>::new(), 11).total_pages, 2);
    }
}
