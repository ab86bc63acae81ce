//! How far the replica is behind: what `tinybase replication status` prints.
//!
//! Litestream turns each batch of committed writes into an LTX file named after its
//! transaction ids, first in its local directory beside the database, then uploads it.
//! Comparing the newest local transaction with the newest one in the replica gives the
//! lag in transactions, and the age of the oldest local file not uploaded yet gives it
//! in time. Both sides are read from files, so this works whether or not a server (and
//! its Litestream) is running.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::litestream::{Litestream, ReplicaFile};
use crate::Result;

/// The replica compared with the local database.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReplicationStatus {
    /// The replica URL.
    pub replica: String,
    /// The newest transaction Litestream has taken from the database (16 hex digits);
    /// `None` before Litestream first ran.
    pub local_txid: Option<String>,
    /// The newest transaction in the replica; `None` while the replica is empty.
    pub replica_txid: Option<String>,
    /// When the newest transaction in the replica was written (second precision).
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Transactions taken from the database but not in the replica yet.
    pub pending_transactions: u64,
    /// Age in seconds of the oldest transaction not in the replica yet; 0 when the
    /// replica has everything. This is what a lost machine would lose now.
    pub lag_seconds: f64,
}

/// One local LTX file: its transaction range and when it was written.
struct LocalFile {
    min_txid: u64,
    max_txid: u64,
    written: SystemTime,
}

/// Reads both sides and compares them.
///
/// # Errors
/// When the replica cannot be read.
pub(crate) async fn status(litestream: &Litestream) -> Result<ReplicationStatus> {
    let remote = litestream.replica_files().await?;
    let local = local_files(&litestream.meta_dir().join("ltx").join("0"));
    Ok(compare(
        litestream.replica_url(),
        &local,
        &remote,
        SystemTime::now(),
    ))
}

fn compare(
    replica: String,
    local: &[LocalFile],
    remote: &[ReplicaFile],
    now: SystemTime,
) -> ReplicationStatus {
    let newest_remote = remote
        .iter()
        .filter_map(|file| Some((u64::from_str_radix(&file.max_txid, 16).ok()?, file)))
        .max_by(|(a, fa), (b, fb)| a.cmp(b).then(fa.timestamp.cmp(&fb.timestamp)));
    let replica_txid = newest_remote.map_or(0, |(txid, _)| txid);
    let last_sync_at = newest_remote.and_then(|(_, file)| {
        DateTime::parse_from_rfc3339(&file.timestamp)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    });
    let local_txid = local.iter().map(|f| f.max_txid).max();
    let pending = local_txid.map_or(0, |txid| txid.saturating_sub(replica_txid));
    let oldest_pending = local
        .iter()
        .filter(|f| f.min_txid > replica_txid)
        .map(|f| f.written)
        .min();
    let lag_seconds = match oldest_pending {
        Some(written) if pending > 0 => now
            .duration_since(written)
            .map_or(0.0, |age| age.as_secs_f64()),
        _ => 0.0,
    };
    ReplicationStatus {
        replica,
        local_txid: local_txid.map(hex_txid),
        replica_txid: newest_remote.map(|(txid, _)| hex_txid(txid)),
        last_sync_at,
        pending_transactions: pending,
        lag_seconds,
    }
}

fn hex_txid(txid: u64) -> String {
    format!("{txid:016x}")
}

/// The local level-0 files (`<min>-<max>.ltx`, hex ids); none when the directory does
/// not exist yet.
fn local_files(dir: &Path) -> Vec<LocalFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let (min, max) = name.strip_suffix(".ltx")?.split_once('-')?;
            Some(LocalFile {
                min_txid: u64::from_str_radix(min, 16).ok()?,
                max_txid: u64::from_str_radix(max, 16).ok()?,
                written: entry.metadata().ok()?.modified().ok()?,
            })
        })
        .collect()
}

impl ReplicationStatus {
    /// The status as `key: value` lines for a terminal.
    pub fn to_text(&self) -> String {
        let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".to_owned());
        format!(
            "replica:              {}\n\
             local transaction:    {}\n\
             replica transaction:  {}\n\
             last sync:            {}\n\
             pending transactions: {}\n\
             lag:                  {:.1} s\n",
            self.replica,
            or_none(&self.local_txid),
            or_none(&self.replica_txid),
            self.last_sync_at
                .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339()),
            self.pending_transactions,
            self.lag_seconds,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn remote(max: &str, at: &str) -> ReplicaFile {
        ReplicaFile {
            max_txid: max.to_owned(),
            timestamp: at.to_owned(),
        }
    }

    #[test]
    fn a_replica_with_everything_has_no_lag() {
        let now = SystemTime::now();
        let local = [LocalFile {
            min_txid: 4,
            max_txid: 4,
            written: now - Duration::from_secs(30),
        }];
        let status = compare(
            "file:///r".to_owned(),
            &local,
            &[remote("0000000000000004", "2026-12-06T22:43:50Z")],
            now,
        );
        assert_eq!(status.pending_transactions, 0);
        assert!(status.lag_seconds.abs() < f64::EPSILON);
        assert_eq!(status.replica_txid.as_deref(), Some("0000000000000004"));
        assert_eq!(
            status.last_sync_at.unwrap().to_rfc3339(),
            "2026-12-06T22:43:50+00:00"
        );
    }

    #[test]
    fn the_lag_is_the_age_of_the_oldest_transaction_not_shipped() {
        let now = SystemTime::now();
        let local = [
            LocalFile {
                min_txid: 5,
                max_txid: 5,
                written: now - Duration::from_secs(8),
            },
            LocalFile {
                min_txid: 6,
                max_txid: 7,
                written: now - Duration::from_secs(3),
            },
        ];
        let status = compare(
            "file:///r".to_owned(),
            &local,
            &[
                remote("0000000000000001", "2026-12-06T22:00:00Z"),
                remote("0000000000000004", "2026-12-06T22:43:50Z"),
            ],
            now,
        );
        assert_eq!(status.pending_transactions, 3);
        assert!((status.lag_seconds - 8.0).abs() < 0.5, "{status:?}");
        assert_eq!(status.local_txid.as_deref(), Some("0000000000000007"));
    }

    #[test]
    fn an_empty_replica_reports_nothing_shipped() {
        let status = compare("s3://b/p".to_owned(), &[], &[], SystemTime::now());
        assert_eq!(status.replica_txid, None);
        assert_eq!(status.last_sync_at, None);
        assert!(status.to_text().contains("last sync:            never"));
    }
}
