//! Keeping the query planner's statistics in step with the records table as data arrives.
//!
//! SQLite chooses between indexes from `sqlite_stat1`, which only `ANALYZE` writes. A
//! collection usually gets its field indexes while it is still empty, and the analysis
//! done then says those indexes hold no rows. Believing an index is free, the planner
//! then reads every match through it and sorts them, instead of walking the collection
//! in list order and stopping after one page: about 40 times slower at 10,000 records.
//! `PRAGMA optimize` would notice, but only when run, and a restart would fix it too; a
//! list's speed must depend on neither.
//!
//! So every record write notes which collection gained or lost a row. Once a collection
//! has changed by as many rows as it held at the last analysis (it doubled, halved or
//! turned over), and by at least [`MIN_CHANGED_ROWS`], the records table is analysed again
//! on the writer thread between write batches. The trigger is geometric: a collection
//! that grows to N rows causes about log2(N) analyses, so their total cost stays in
//! proportion to the rows written. The analysis is exact rather than sampled, because all
//! collections share the table and a sample misjudges how many rows one collection holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::Result;

/// Below this many changed rows a collection's plans hardly matter (every plan reads a
/// few pages), so its statistics are not refreshed for it.
pub(super) const MIN_CHANGED_ROWS: u64 = 500;

/// Row changes per collection since the records table was last analysed.
#[derive(Default)]
pub(super) struct RowGrowth {
    collections: Mutex<HashMap<String, Growth>>,
    /// Set from the moment an analysis is asked for until it is done, so a burst of
    /// writes asks for one analysis, not one each.
    refresh_pending: AtomicBool,
}

#[derive(Default)]
struct Growth {
    /// Rows the collection held when the table was last analysed.
    analysed_rows: u64,
    /// Rows created or deleted since.
    changed_rows: u64,
}

impl RowGrowth {
    /// Notes that `rows` rows of `collection_id` were created or deleted. Returns `true`
    /// when the table should be analysed again and no analysis is pending yet; the caller
    /// then arranges one and reports it with [`RowGrowth::analysed`].
    pub(super) fn note(&self, collection_id: &str, rows: u64) -> bool {
        let mut collections = self.lock();
        let growth = match collections.get_mut(collection_id) {
            Some(growth) => growth,
            None => collections.entry(collection_id.to_owned()).or_default(),
        };
        growth.changed_rows = growth.changed_rows.saturating_add(rows);
        let due = growth.changed_rows >= growth.analysed_rows.max(MIN_CHANGED_ROWS);
        due && !self.refresh_pending.swap(true, Ordering::AcqRel)
    }

    /// Starts counting afresh from the row counts of an analysis that just finished
    /// (or failed: `None` keeps the counts, so the next write asks again).
    pub(super) fn analysed(&self, rows_per_collection: Option<HashMap<String, u64>>) {
        if let Some(rows) = rows_per_collection {
            *self.lock() = rows
                .into_iter()
                .map(|(id, analysed_rows)| {
                    let growth = Growth {
                        analysed_rows,
                        changed_rows: 0,
                    };
                    (id, growth)
                })
                .collect();
        }
        self.refresh_pending.store(false, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Growth>> {
        // The map holds plain counters, consistent after any panic.
        self.collections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Analyses the records table exactly and returns how many rows each collection holds,
/// which is what the statistics now describe. Runs on the writer connection with no
/// transaction open, so no write can slip in between the two.
pub(super) fn analyse_records(conn: &Connection) -> Result<HashMap<String, u64>> {
    // A limit set on this connection would make ANALYZE sample; exactness is the point.
    conn.pragma_update(None, "analysis_limit", 0)?;
    conn.execute_batch("ANALYZE records")?;
    let mut stmt =
        conn.prepare("SELECT collection_id, COUNT(*) FROM records GROUP BY collection_id")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?
        .map(|row| row.map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))))
        .collect::<rusqlite::Result<HashMap<_, _>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_collection_asks_for_analysis_after_the_minimum_then_at_each_doubling() {
        let growth = RowGrowth::default();
        let mut asked_at = Vec::new();
        let mut rows = 0_u64;
        for _ in 0..10_000 {
            rows += 1;
            if growth.note("posts", 1) {
                asked_at.push(rows);
                growth.analysed(Some(HashMap::from([("posts".to_owned(), rows)])));
            }
        }
        assert_eq!(asked_at, [500, 1_000, 2_000, 4_000, 8_000]);
    }

    #[test]
    fn one_pending_analysis_at_a_time_and_a_failed_one_is_asked_again() {
        let growth = RowGrowth::default();
        for _ in 0..499 {
            assert!(!growth.note("posts", 1));
        }
        assert!(growth.note("posts", 1), "the 500th change asks");
        assert!(!growth.note("posts", 1), "already pending");
        assert!(
            !growth.note("other", 10_000),
            "already pending, whatever the collection"
        );
        growth.analysed(None);
        assert!(
            growth.note("posts", 1),
            "a failed analysis is asked for again"
        );
    }

    #[test]
    fn a_large_collection_waits_until_it_has_changed_by_its_own_size() {
        let growth = RowGrowth::default();
        growth.analysed(Some(HashMap::from([
            ("big".to_owned(), 100_000),
            ("small".to_owned(), 10),
        ])));
        assert!(!growth.note("big", 99_999));
        assert!(
            !growth.note("small", 499),
            "small collections wait for the minimum"
        );
        assert!(growth.note("big", 1));
    }
}
