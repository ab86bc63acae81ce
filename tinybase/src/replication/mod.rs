//! Continuous replication with Litestream: TinyBase does not replicate by itself, it runs
//! and watches Litestream (<https://litestream.io>, 0.5 or later), which ships every
//! committed write of the SQLite file to a replica (a directory or an S3-compatible
//! bucket) and restores from it, to any point in time it still holds.
//!
//! - `supervisor.rs`: `litestream replicate` as a child of `serve`, restarted when it
//!   dies, stopped after a last sync; and who checkpoints the log meanwhile.
//! - `leftover.rs`: a Litestream a killed server left behind is stopped before another
//!   one starts.
//! - `litestream.rs`: the generated configuration and Litestream's one-shot commands.
//! - `supervision.rs`: what the supervisor knows, for the admin API.
//! - `status.rs`: how far behind the replica is.
//! - `restore.rs`: `restore --from-replica [--timestamp T]`.
//! - `follower.rs`, `replica.rs`: `serve --replica`, a read replica that follows the
//!   replica stream and serves reads and realtime from it; the HTTP middleware that
//!   forwards its writes to the primary is `api/forward.rs`.
mod follower;
mod leftover;
mod litestream;
pub(crate) mod replica;
mod restore;
mod status;
mod supervision;
mod supervisor;

use std::path::Path;

pub use follower::Follower;
pub use restore::restore_from_replica;
pub use status::ReplicationStatus;
pub use supervision::Supervision;
pub use supervisor::Replication;

use crate::Result;
use crate::config::ReplicationSettings;
use crate::db::Database;
use litestream::Litestream;

/// Checks, before serving, that replication can work: Litestream runs and is 0.5 or
/// later, and the replica can be read with the configured endpoint and keys. Returns
/// Litestream's version. `serve` runs this first so a mistake stops start-up with a
/// clear message instead of a stream of failed uploads.
///
/// # Errors
/// A message naming what is wrong: the executable, the replica URL, the keys.
pub async fn preflight(settings: &ReplicationSettings, db: &Path) -> Result<String> {
    let litestream = Litestream::new(settings, db)?;
    let version = litestream.check_version().await?;
    litestream.replica_files().await?;
    Ok(version)
}

/// Starts replicating the database at `db` (already open as `database`).
///
/// # Errors
/// When Litestream cannot be started at all.
pub(crate) async fn start(
    settings: &ReplicationSettings,
    db: &Path,
    database: Database,
    supervision: Supervision,
) -> Result<Replication> {
    Replication::start(Litestream::new(settings, db)?, database, supervision).await
}

/// Compares the replica with the local database (see [`ReplicationStatus`]).
///
/// # Errors
/// When replication is not configured or the replica cannot be read.
pub async fn status(settings: &ReplicationSettings, db: &Path) -> Result<ReplicationStatus> {
    status::status(&Litestream::new(settings, db)?).await
}
