//! `restore --from-replica`: the database, back from the replica (as of a time, when
//! asked), into the configured database path.
//!
//! Litestream restores into a new file beside the database; that file then goes through
//! the same checks and copy as `restore PATH` (a healthy TinyBase database this build can
//! open), under the same exclusive lock, so a server running on the database makes it
//! refuse before anything is downloaded.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::litestream::Litestream;
use crate::config::ReplicationSettings;
use crate::db::DatabaseLock;
use crate::{Error, Result};

/// Restores `db` from the replica, as it was at `timestamp` (RFC 3339) when given.
///
/// # Errors
/// 409 while a server runs on `db`; 400 for a bad timestamp or when replication is not
/// configured; internal errors when the replica holds nothing (as of `timestamp`) or
/// cannot be read.
pub async fn restore_from_replica(
    settings: &ReplicationSettings,
    db: &Path,
    timestamp: Option<&str>,
) -> Result<()> {
    let at = timestamp.map(parse_timestamp).transpose()?;
    let litestream = Litestream::new(settings, db)?;
    // A new machine may not have the database's directory yet.
    if let Some(dir) = litestream.db().parent() {
        std::fs::create_dir_all(dir).map_err(|err| {
            Error::internal(format!(
                "cannot create the directory {}: {err}",
                dir.display()
            ))
        })?;
    }
    let lock = DatabaseLock::exclusive(db)?;
    litestream.check_version().await?;
    let restored = restoring_path(litestream.db());
    remove_with_sidecars(&restored);
    let outcome = litestream.restore(&restored, at.as_deref()).await;
    let outcome = match outcome {
        Ok(()) => {
            let (target, source) = (litestream.db().to_owned(), restored.clone());
            tokio::task::spawn_blocking(move || crate::db::restore_locked(&target, &source, &lock))
                .await
                .map_err(Error::from)
                .and_then(|copied| copied)
        }
        Err(err) => Err(err),
    };
    remove_with_sidecars(&restored);
    outcome?;
    // Litestream's local state describes the database that was replaced; without it,
    // the next `serve` starts from the replica's position and ships a fresh snapshot.
    let meta = litestream.meta_dir();
    if meta.exists()
        && let Err(err) = std::fs::remove_dir_all(&meta)
    {
        tracing::warn!(%err, dir = %meta.display(), "could not remove Litestream's old state");
    }
    Ok(())
}

/// Normalises an RFC 3339 time to UTC, the form Litestream takes.
fn parse_timestamp(text: &str) -> Result<String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|at| {
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
        })
        .map_err(|err| {
            Error::bad_request(format!(
                "'{text}' is not an RFC 3339 time such as 2026-12-06T22:43:50Z: {err}"
            ))
        })
}

/// Where Litestream writes the restored copy: beside the database, so the final copy
/// stays on one file system.
fn restoring_path(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    db.with_file_name(format!(".{name}.restoring-{}", std::process::id()))
}

/// Removes `path` and the files SQLite and Litestream keep beside it.
fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-txid"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_utc_and_bad_ones_are_refused() {
        assert_eq!(
            parse_timestamp("2026-12-06T23:43:50+01:00").unwrap(),
            "2026-12-06T22:43:50Z"
        );
        assert_eq!(
            parse_timestamp("2026-12-06T22:43:50.250Z").unwrap(),
            "2026-12-06T22:43:50.250Z"
        );
        let err = parse_timestamp("yesterday").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }
}
