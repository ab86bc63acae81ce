//! The read connections: pooled, `query_only`, each with its own cache of counts.

use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use r2d2::ManageConnection;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use super::connection::{self, Role};
use super::count_cache::CountCache;
use crate::Result;

/// A pooled read connection and the counts it has already computed.
pub(super) struct ReadConnection {
    conn: Connection,
    counts: CountCache,
    /// The [`StatisticsGeneration`] this connection loaded its planner statistics at.
    statistics: u64,
}

impl ReadConnection {
    /// The connection and its count cache, borrowed together.
    pub(super) fn parts(&mut self) -> (&Connection, &mut CountCache) {
        (&self.conn, &mut self.counts)
    }
}

impl Deref for ReadConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// Counts how often the planner statistics were refreshed.
///
/// SQLite loads `sqlite_stat1` when a connection reads the schema and again only when the
/// schema changes; `ANALYZE` alone does not change it. A reader opened before the
/// statistics were refreshed would plan with the old ones for as long as it lives, so
/// the pool retires readers older than the latest refresh.
#[derive(Clone, Default)]
pub(super) struct StatisticsGeneration(Arc<AtomicU64>);

impl StatisticsGeneration {
    /// Marks the statistics as refreshed.
    pub(super) fn advance(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens read connections for the `r2d2` pool: `r2d2_sqlite`'s connections, configured
/// as readers, each paired with an empty count cache.
pub(super) struct ReaderManager {
    sqlite: SqliteConnectionManager,
    statistics: StatisticsGeneration,
}

impl ReaderManager {
    pub(super) fn new(path: &Path, statistics: StatisticsGeneration) -> Self {
        Self {
            sqlite: SqliteConnectionManager::file(path)
                .with_init(|conn| connection::configure(conn, Role::Reader)),
            statistics,
        }
    }
}

impl ManageConnection for ReaderManager {
    type Connection = ReadConnection;
    type Error = rusqlite::Error;

    fn connect(&self) -> rusqlite::Result<ReadConnection> {
        // Read the generation first: a refresh racing with the connect then retires this
        // connection once more than needed, never too few times.
        let statistics = self.statistics.current();
        Ok(ReadConnection {
            conn: self.sqlite.connect()?,
            counts: CountCache::default(),
            statistics,
        })
    }

    /// Asked when the pool hands a connection out; an error makes it open another.
    fn is_valid(&self, conn: &mut ReadConnection) -> rusqlite::Result<()> {
        if conn.statistics != self.statistics.current() {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_SCHEMA),
                Some("the planner statistics changed".to_owned()),
            ));
        }
        self.sqlite.is_valid(&mut conn.conn)
    }

    /// Asked when a connection goes back to the pool; `true` makes the pool close it.
    fn has_broken(&self, conn: &mut ReadConnection) -> bool {
        conn.statistics != self.statistics.current() || self.sqlite.has_broken(&mut conn.conn)
    }
}

/// A few read connections used right on the calling thread, one per CPU.
///
/// Handing a read to another thread and waking the caller afterwards costs two context
/// switches, several times the work of a lookup by key (a few microseconds). Reads that
/// are known to touch only a handful of rows run here instead; when every connection is
/// busy the caller falls back to the pool rather than wait.
pub(super) struct InlineReaders {
    manager: ReaderManager,
    slots: Vec<Mutex<Option<ReadConnection>>>,
}

impl InlineReaders {
    pub(super) fn new(manager: ReaderManager) -> Self {
        let count = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            manager,
            slots: (0..count).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Runs `f` on a free inline connection (opened on first use, reopened when its
    /// planner statistics are outdated), or gives `f` back when none is free.
    pub(super) fn try_run<T, F>(&self, f: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        for slot in &self.slots {
            let mut guard = match slot.try_lock() {
                Ok(guard) => guard,
                // A panic in an earlier read poisoned the lock; the statement it ran was
                // reset when it unwound, so the connection is still sound.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            if guard
                .as_mut()
                .is_some_and(|conn| self.manager.is_valid(conn).is_err())
            {
                *guard = None;
            }
            let conn = match guard.as_mut() {
                Some(conn) => conn,
                None => match self.manager.connect() {
                    Ok(conn) => guard.insert(conn),
                    Err(err) => return Ok(Err(err.into())),
                },
            };
            return Ok(f(conn));
        }
        Err(f)
    }
}
