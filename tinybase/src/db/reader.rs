//! The read connections: pooled, `query_only`, each remembering the last database
//! version it saw (for the count cache).

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use r2d2::ManageConnection;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use super::connection::{self, Role};
use super::count_cache::SeenVersion;

/// A read connection and the last database version it saw.
pub(super) struct ReadConnection {
    conn: Connection,
    seen: SeenVersion,
    /// The [`StatisticsGeneration`] this connection loaded its planner statistics at.
    statistics: u64,
}

impl ReadConnection {
    /// The connection and the last `data_version` it saw, borrowed together.
    pub(super) fn parts(&mut self) -> (&Connection, &mut SeenVersion) {
        (&self.conn, &mut self.seen)
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
/// as readers.
pub(super) struct ReaderManager {
    sqlite: SqliteConnectionManager,
    statistics: StatisticsGeneration,
    /// A read replica's connections: see [`ReaderManager::read_only`].
    replica: bool,
}

impl ReaderManager {
    /// A manager for the database at `path`, retiring connections older than the latest
    /// statistics refresh.
    pub(super) fn new(path: &Path, statistics: StatisticsGeneration) -> Self {
        Self {
            sqlite: SqliteConnectionManager::file(path)
                .with_init(|conn| connection::configure(conn, Role::Reader)),
            statistics,
            replica: false,
        }
    }

    /// Connections to a read replica's file, which Litestream rewrites page by page
    /// from outside (taking SQLite's exclusive lock meanwhile): opened read-only, and
    /// with their page cache emptied each time one is handed out. SQLite only notices
    /// outside changes through the change counter on page 1, which a replicated write
    /// does not always touch, so a cached page could otherwise be stale.
    pub(super) fn read_only(path: &Path, statistics: StatisticsGeneration) -> Self {
        use rusqlite::OpenFlags;
        Self {
            sqlite: SqliteConnectionManager::file(path)
                .with_flags(
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .with_init(|conn| connection::configure(conn, Role::Replica)),
            statistics,
            replica: true,
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
            seen: SeenVersion::default(),
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
        if self.replica {
            conn.conn.execute_batch("PRAGMA shrink_memory")?;
        }
        self.sqlite.is_valid(&mut conn.conn)
    }

    /// Asked when a connection goes back to the pool; `true` makes the pool close it.
    fn has_broken(&self, conn: &mut ReadConnection) -> bool {
        conn.statistics != self.statistics.current() || self.sqlite.has_broken(&mut conn.conn)
    }
}
