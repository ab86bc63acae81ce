//! Consistent copies of a live database, and restoring one while no server runs.
//!
//! A backup copies the whole file in one step of SQLite's online backup API, inside one
//! read snapshot: in WAL mode that never blocks writers, and the copy is exactly the
//! database as of one moment. A restore replaces the file, so it takes the database's
//! lock exclusively: every running server holds that lock shared.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::Database;
use crate::{Error, Result};

/// The lock file beside a database: servers hold it shared, a restore exclusively.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A lock held for as long as the value lives.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

fn open_lock(db: &Path) -> Result<File> {
    let path = lock_path(db);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| Error::internal(format!("cannot open {}: {err}", path.display())))
}

impl DatabaseLock {
    /// Takes the shared lock a server holds while it serves `db`. Several servers may
    /// share it; it only keeps a restore out.
    ///
    /// # Errors
    /// When a restore is running on `db`.
    pub fn shared(db: &Path) -> Result<Self> {
        let file = open_lock(db)?;
        file.try_lock_shared().map_err(|_| {
            Error::internal(format!(
                "{} is being restored; try again when it is done",
                db.display()
            ))
        })?;
        Ok(Self { _file: file })
    }

    /// Takes the exclusive lock a restore needs.
    ///
    /// # Errors
    /// When a server is running on `db`.
    pub fn exclusive(db: &Path) -> Result<Self> {
        let file = open_lock(db)?;
        file.try_lock().map_err(|_| {
            Error::conflict(format!(
                "a server is running on {}; stop it before restoring",
                db.display()
            ))
        })?;
        Ok(Self { _file: file })
    }
}

/// Copies `source` into `target` in a single step (one consistent snapshot).
fn copy_all(source: &Connection, target: &mut Connection) -> Result<()> {
    let backup = Backup::new(source, target)?;
    match backup.step(-1)? {
        StepResult::Done => Ok(()),
        other => Err(Error::internal(format!(
            "the copy did not finish: {other:?}"
        ))),
    }
}

impl Database {
    /// Writes a consistent copy of the database to `target` (which must not exist), while
    /// the server keeps serving.
    ///
    /// # Errors
    /// 409 when `target` exists; internal errors when it cannot be written.
    pub async fn backup_to(&self, target: &Path) -> Result<()> {
        if target.exists() {
            return Err(Error::conflict(format!(
                "{} already exists",
                target.display()
            )));
        }
        let db = self.clone();
        let target = target.to_owned();
        tokio::task::spawn_blocking(move || {
            let source = db.inner.readers.get()?;
            let mut copy = Connection::open(&target).map_err(|err| {
                Error::internal(format!("cannot create {}: {err}", target.display()))
            })?;
            copy_all(&source, &mut copy)?;
            // The copy is a standalone file: fold its log in and switch it to rollback mode.
            copy.pragma_update(None, "journal_mode", "DELETE")?;
            Ok(())
        })
        .await?
    }
}

/// Checks that `backup` is a healthy TinyBase database this build can open.
fn check_backup(backup: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| Error::bad_request(format!("cannot open {}: {err}", backup.display())))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|err| {
            Error::bad_request(format!(
                "{} is not a SQLite database: {err}",
                backup.display()
            ))
        })?;
    if integrity != "ok" {
        return Err(Error::bad_request(format!(
            "{} fails its integrity check: {integrity}",
            backup.display()
        )));
    }
    let version: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(|_| {
            Error::bad_request(format!("{} is not a TinyBase database", backup.display()))
        })?;
    let newest = super::migrations::newest_version();
    if version > newest {
        return Err(Error::bad_request(format!(
            "{} is at schema version {version}, newer than this build knows ({newest})",
            backup.display()
        )));
    }
    Ok(())
}

/// Replaces the database at `db` with the backup at `backup`. Refuses while any server
/// runs on `db`, and checks the backup before touching anything. Blocking.
///
/// # Errors
/// 409 while a server runs; 400 for a backup that is not a healthy TinyBase database.
pub fn restore(db: &Path, backup: &Path) -> Result<()> {
    let lock = DatabaseLock::exclusive(db)?;
    restore_locked(db, backup, &lock)
}

/// [`restore`] for a caller that already holds `db`'s exclusive lock (taking it again
/// from the same process would fail).
///
/// # Errors
/// 400 for a backup that is not a healthy TinyBase database.
pub(crate) fn restore_locked(db: &Path, backup: &Path, _lock: &DatabaseLock) -> Result<()> {
    check_backup(backup)?;
    let source = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut target = Connection::open(db)
        .map_err(|err| Error::internal(format!("cannot open {}: {err}", db.display())))?;
    copy_all(&source, &mut target)?;
    target.pragma_update(None, "journal_mode", "WAL")?;
    Ok(())
}
