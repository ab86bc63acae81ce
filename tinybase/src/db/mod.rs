//! SQLite storage: one file, a pool of readers and a single serialised writer.
//!
//! SQLite allows one writer at a time. Rather than let concurrent writers fight over the
//! lock (and surface `SQLITE_BUSY`), every write goes through [`Database::write`], which
//! holds the one writer connection and runs the closure in an `IMMEDIATE` transaction.
//! Reads use a pool of `query_only` connections and never wait for writers (WAL).
//! Both run on tokio's blocking pool so SQLite never stalls the async executor.

mod backup;
mod connection;
mod count_cache;
mod migrations;
mod reader;
mod time;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use r2d2::Pool;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::{Error, Result};

pub use backup::{DatabaseLock, restore};
pub(crate) use count_cache::CountCache;
pub use rusqlite;
pub use time::{format_timestamp, now, parse_optional_timestamp, parse_timestamp};

/// How many read connections the pool keeps at most.
const READ_POOL_SIZE: u32 = 8;

/// A handle to the TinyBase database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Held shared while the database is open, so a restore cannot replace it under us.
    _lock: DatabaseLock,
    readers: Pool<reader::ReaderManager>,
    inline_readers: reader::InlineReaders,
    statistics: reader::StatisticsGeneration,
    writer: Mutex<Connection>,
}

impl Database {
    /// Opens (creating if needed) the database file at `path` and applies pending
    /// migrations. Blocking: call it before serving, or from `spawn_blocking`.
    ///
    /// # Errors
    /// Fails when the file cannot be created or opened, or a migration fails.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::internal(format!(
                    "cannot create database directory {}: {err}",
                    dir.display()
                ))
            })?;
        }
        let lock = DatabaseLock::shared(path)?;
        let mut writer = Connection::open(path).map_err(|err| {
            Error::internal(format!("cannot open database {}: {err}", path.display()))
        })?;
        connection::configure(&writer, connection::Role::Writer)?;
        migrations::apply(&mut writer)?;
        // 0x10002: analyse every table that needs it, as SQLite advises for long-lived
        // connections, so the planner has statistics from the start.
        writer.execute_batch("PRAGMA optimize=0x10002")?;

        let statistics = reader::StatisticsGeneration::default();
        let manager = reader::ReaderManager::new(path, statistics.clone());
        let inline_readers =
            reader::InlineReaders::new(reader::ReaderManager::new(path, statistics.clone()));
        let readers = Pool::builder()
            .max_size(READ_POOL_SIZE)
            .min_idle(Some(1))
            .build(manager)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                _lock: lock,
                readers,
                inline_readers,
                statistics,
                writer: Mutex::new(writer),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with a read-only connection on the blocking pool.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f)).await?
    }

    /// Like [`Database::read`], but runs `f` right here on the calling thread when an
    /// inline connection is free, which saves two thread hand-offs. Only for reads that
    /// look up a few rows by key: a slow `f` would hold up the async executor.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub(crate) async fn read_by_key<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match self.inner.inline_readers.try_run(f) {
            Ok(done) => done,
            Err(f) => self.read(f).await,
        }
    }

    /// Like [`Database::read`], inside one read transaction, with the connection's
    /// [`CountCache`] for totals that need not be recounted while nothing changed.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub(crate) async fn read_counting<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut CountCache) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.inner.readers.get()?;
            let (conn, counts) = pooled.parts();
            // One snapshot for the version check, the count and the page.
            let tx = conn.unchecked_transaction()?;
            let value = f(&tx, counts)?;
            tx.finish()?;
            Ok(value)
        })
        .await?
    }

    /// Runs `f` inside one `IMMEDIATE` write transaction on the blocking pool; commits when
    /// `f` returns `Ok`, rolls back otherwise. Writers queue; they never see `SQLITE_BUSY`.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error if the transaction cannot commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f)).await?
    }

    /// Like [`Database::write`], and then runs `after_commit` with the result while still
    /// holding the writer. In-memory state derived from the database (such as compiled
    /// collection schemas) is updated there, so it changes in commit order.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error if the transaction cannot commit.
    pub async fn write_then<T, F, G>(&self, f: F, after_commit: G) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        G: FnOnce(&T) + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock_writer();
            let value = Self::in_transaction(&mut conn, f)?;
            after_commit(&value);
            Ok(value)
        })
        .await?
    }

    /// Refreshes the query planner's statistics for tables that changed a lot since they
    /// were last analysed. Without statistics SQLite assumes every index equality is
    /// selective and may, for example, ignore a field's index for a filter. The server
    /// runs this periodically; it is cheap when nothing changed.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn optimize(&self) -> Result<()> {
        self.write(|tx| Ok(tx.execute_batch("PRAGMA optimize")?))
            .await?;
        self.inner.statistics.advance();
        Ok(())
    }

    /// Copies the write-ahead log into the database file and truncates the log, waiting
    /// (up to the busy timeout) for readers to move on. SQLite checkpoints automatically
    /// as it goes, but readers that never pause can keep those from finishing; this
    /// bounds the log file under sustained load.
    ///
    /// # Errors
    /// Internal errors only.
    pub async fn checkpoint(&self) -> Result<()> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = db.lock_writer();
            // Returns (busy, log pages, checkpointed pages); busy = 1 means readers kept
            // part of the log alive, which the next checkpoint will finish.
            let (busy, _, _): (i64, i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
            if busy != 0 {
                tracing::debug!("checkpoint could not finish while readers were active");
            }
            Ok(())
        })
        .await?
    }

    /// [`Database::read`] for code already on a blocking thread.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error when no connection is available.
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.readers.get()?;
        f(&conn)
    }

    /// [`Database::write`] for code already on a blocking thread.
    ///
    /// # Errors
    /// Whatever `f` returns, or an internal error if the transaction cannot commit.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        Self::in_transaction(&mut self.lock_writer(), f)
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock poisons it, but the transaction it held was rolled
        // back when it unwound, so the connection is still sound to reuse.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn in_transaction<T>(
        conn: &mut Connection,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}
