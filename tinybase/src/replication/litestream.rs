//! The Litestream executable: its generated configuration and the one-shot commands
//! TinyBase runs (`version`, `ltx`, `restore`). `replicate` is run by `supervisor.rs`.
//!
//! The configuration is generated from `[replication]` on every start, next to the
//! database (`.<name>-litestream.yml`), so it can never drift from the settings. It is
//! JSON, which Litestream reads as YAML, so no value needs YAML quoting rules. Keys are
//! never written to it: the child process gets them in its environment, and the file is
//! read with `-no-expand-env` so a `$` in a path stays a `$`.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::config::{ReplicaTarget, ReplicationSettings};
use crate::{Error, Result};

/// How long a one-shot command (version, listing the replica) may take.
const COMMAND_PATIENCE: Duration = Duration::from_secs(30);

/// How long a restore may take: it downloads the whole database.
const RESTORE_PATIENCE: Duration = Duration::from_secs(60 * 60);

/// How long Litestream may keep retrying its last upload when asked to stop.
pub(super) const SHUTDOWN_SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// The oldest Litestream whose configuration format and replica layout (LTX) this
/// module speaks.
const MIN_VERSION: (u64, u64) = (0, 5);

/// Litestream, set up for one database and its replica.
#[derive(Debug, Clone)]
pub(crate) struct Litestream {
    bin: String,
    /// The database, absolute: Litestream resolves paths against its own working directory.
    db: PathBuf,
    target: ReplicaTarget,
    settings: ReplicationSettings,
}

/// One LTX file in the replica, as `litestream ltx -json` lists it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ReplicaFile {
    /// The last transaction the file holds, as 16 hex digits.
    pub(crate) max_txid: String,
    /// When the newest transaction in the file was written.
    pub(crate) timestamp: String,
}

impl Litestream {
    /// Litestream for the database at `db` with these settings.
    ///
    /// # Errors
    /// When replication is off or its URL is bad.
    pub(crate) fn new(settings: &ReplicationSettings, db: &Path) -> Result<Self> {
        let target = settings
            .target()
            .map_err(|message| {
                Error::internal(format!("invalid setting `replication.url`: {message}"))
            })?
            .ok_or_else(|| {
                Error::bad_request(
                    "replication is not configured: set replication.url (or \
                     TINYBASE_REPLICATION_URL) to file:///dir or s3://bucket/prefix",
                )
            })?;
        let db = std::path::absolute(db).map_err(|err| {
            Error::internal(format!("cannot resolve the path {}: {err}", db.display()))
        })?;
        Ok(Self {
            bin: settings.litestream_bin.clone(),
            db,
            target,
            settings: settings.clone(),
        })
    }

    /// How often the primary ships new transactions to the replica.
    pub(crate) fn sync_interval(&self) -> Duration {
        Duration::from_millis(self.settings.sync_interval_ms)
    }

    /// The database, as an absolute path.
    pub(crate) fn db(&self) -> &Path {
        &self.db
    }

    /// The replica, for messages (never holds a secret).
    pub(crate) fn replica_url(&self) -> String {
        match &self.target {
            ReplicaTarget::File(dir) => format!("file://{}", dir.display()),
            ReplicaTarget::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// `.<name>-<suffix>` beside the database.
    fn beside_db(&self, suffix: &str) -> PathBuf {
        let name = self
            .db
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.db.with_file_name(format!(".{name}-{suffix}"))
    }

    /// Litestream's own state for the database (its LTX files before upload); the
    /// location is Litestream's default, so its own commands find it too.
    pub(crate) fn meta_dir(&self) -> PathBuf {
        self.beside_db("litestream")
    }

    /// The generated configuration file.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.beside_db("litestream.yml")
    }

    /// The configuration for this database and replica.
    fn config(&self) -> Value {
        let sync_interval = format!("{}ms", self.settings.sync_interval_ms);
        let replica = match &self.target {
            ReplicaTarget::File(dir) => json!({
                "type": "file",
                "path": dir,
                "sync-interval": sync_interval,
            }),
            ReplicaTarget::S3 { bucket, prefix } => {
                let mut replica = json!({
                    "type": "s3",
                    "bucket": bucket,
                    "path": prefix,
                    "force-path-style": self.settings.s3_path_style,
                    "sync-interval": sync_interval,
                });
                if let Some(endpoint) = &self.settings.s3_endpoint {
                    replica["endpoint"] = json!(endpoint);
                }
                if let Some(region) = &self.settings.s3_region {
                    replica["region"] = json!(region);
                }
                replica
            }
        };
        json!({
            "dbs": [{ "path": self.db, "replica": replica }],
            "logging": { "level": "info", "type": "text" },
            "shutdown-sync-timeout": format!("{}s", SHUTDOWN_SYNC_TIMEOUT.as_secs()),
        })
    }

    /// Writes the configuration file (replacing an older one).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn write_config(&self) -> Result<()> {
        let path = self.config_path();
        let text = serde_json::to_string_pretty(&self.config())?;
        std::fs::write(&path, text).map_err(|err| {
            Error::internal(format!(
                "cannot write the Litestream configuration {}: {err}",
                path.display()
            ))
        })
    }

    /// A `litestream` command with the keys in its environment and the generated
    /// configuration (for the subcommands that read one).
    pub(crate) fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(subcommand)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if subcommand != "version" {
            cmd.arg("-config")
                .arg(self.config_path())
                .arg("-no-expand-env");
        }
        if let (Some(id), Some(secret)) = (
            &self.settings.s3_access_key_id,
            &self.settings.s3_secret_access_key,
        ) {
            cmd.env("AWS_ACCESS_KEY_ID", id)
                .env("AWS_SECRET_ACCESS_KEY", secret);
        }
        cmd
    }

    /// Explains a failure to start the executable.
    pub(crate) fn spawn_error(&self, err: &std::io::Error) -> Error {
        let how = if err.kind() == std::io::ErrorKind::NotFound {
            "it was not found".to_owned()
        } else {
            err.to_string()
        };
        Error::internal(format!(
            "cannot run Litestream `{}` (replication.litestream_bin): {how}; install \
             Litestream 0.5 or later (https://litestream.io/install) or point \
             replication.litestream_bin (TINYBASE_REPLICATION_LITESTREAM_BIN) at it",
            self.bin
        ))
    }

    /// Runs `cmd` to completion within `patience`; a failure carries Litestream's own
    /// words (its last lines of output).
    async fn run(&self, mut cmd: Command, what: &str, patience: Duration) -> Result<Output> {
        let child = cmd.spawn().map_err(|err| self.spawn_error(&err))?;
        let output = tokio::time::timeout(patience, child.wait_with_output())
            .await
            .map_err(|_| {
                Error::internal(format!(
                    "Litestream did not finish {what} within {} s",
                    patience.as_secs()
                ))
            })??;
        if !output.status.success() {
            return Err(Error::internal(format!(
                "Litestream could not {what}: {}",
                last_words(&output)
            )));
        }
        Ok(output)
    }

    /// Checks that the executable runs and is recent enough; returns its version.
    ///
    /// # Errors
    /// A missing or broken executable, or one older than 0.5.
    pub(crate) async fn check_version(&self) -> Result<String> {
        let output = self
            .run(
                self.command("version"),
                "report its version",
                COMMAND_PATIENCE,
            )
            .await?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if let Some((major, minor)) = parse_version(&version)
            && (major, minor) < MIN_VERSION
        {
            return Err(Error::internal(format!(
                "Litestream {version} is too old: TinyBase needs 0.5 or later (its \
                 configuration and replica format changed in 0.5)"
            )));
        }
        Ok(version)
    }

    /// Lists every LTX file in the replica (all levels). An empty list means the
    /// replica holds nothing yet.
    ///
    /// # Errors
    /// When the replica cannot be reached or read (bad endpoint, keys or bucket).
    pub(crate) async fn replica_files(&self) -> Result<Vec<ReplicaFile>> {
        self.write_config()?;
        let mut cmd = self.command("ltx");
        cmd.args(["-level", "all", "-json"]).arg(&self.db);
        let output = self
            .run(
                cmd,
                &format!("read the replica {}", self.replica_url()),
                COMMAND_PATIENCE,
            )
            .await?;
        serde_json::from_slice(&output.stdout).map_err(|err| {
            Error::internal(format!(
                "cannot read Litestream's list of the replica: {err}"
            ))
        })
    }

    /// Restores the replica (as of `timestamp`, RFC 3339 UTC, when given) into the new
    /// file `output`.
    ///
    /// # Errors
    /// When the replica holds nothing (as of `timestamp`) or cannot be read.
    pub(crate) async fn restore(&self, output: &Path, timestamp: Option<&str>) -> Result<()> {
        self.write_config()?;
        let mut cmd = self.command("restore");
        cmd.arg("-o").arg(output);
        if let Some(at) = timestamp {
            cmd.args(["-timestamp", at]);
        }
        cmd.arg(&self.db);
        self.run(
            cmd,
            &format!("restore from {}", self.replica_url()),
            RESTORE_PATIENCE,
        )
        .await
        .map(drop)
    }
}

/// `(major, minor)` of a version such as `0.5.17` or `v0.5.17`; `None` for a
/// development build, which is taken on trust.
fn parse_version(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The last non-empty lines of a command's error output (or its output), for a message.
fn last_words(output: &Output) -> String {
    let text = if output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&output.stderr)
    } else {
        String::from_utf8_lossy(&output.stdout)
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        format!("it exited with {}", output.status)
    } else {
        tail
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn litestream(url: &str) -> Litestream {
        let settings = ReplicationSettings {
            url: Some(url.to_owned()),
            s3_endpoint: Some("http://127.0.0.1:9000".to_owned()),
            s3_region: Some("us-east-1".to_owned()),
            s3_access_key_id: Some("id".to_owned()),
            s3_secret_access_key: Some("$ecret".to_owned()),
            s3_path_style: true,
            sync_interval_ms: 250,
            ..ReplicationSettings::default()
        };
        Litestream::new(&settings, Path::new("/srv/app/data.db")).unwrap()
    }

    #[test]
    fn the_configuration_names_the_replica_and_never_the_secret() {
        let ls = litestream("s3://backups/prod/app");
        let config = ls.config();
        assert_eq!(config["dbs"][0]["path"], "/srv/app/data.db");
        let replica = &config["dbs"][0]["replica"];
        assert_eq!(replica["type"], "s3");
        assert_eq!(replica["bucket"], "backups");
        assert_eq!(replica["path"], "prod/app");
        assert_eq!(replica["endpoint"], "http://127.0.0.1:9000");
        assert_eq!(replica["force-path-style"], true);
        assert_eq!(replica["sync-interval"], "250ms");
        assert!(!config.to_string().contains("ecret"));
        assert_eq!(ls.meta_dir(), Path::new("/srv/app/.data.db-litestream"));
        assert_eq!(ls.replica_url(), "s3://backups/prod/app");
    }

    #[test]
    fn versions_older_than_0_5_are_recognised() {
        assert_eq!(parse_version("0.5.17"), Some((0, 5)));
        assert_eq!(parse_version("v0.3.13"), Some((0, 3)));
        assert_eq!(parse_version("(development build)"), None);
    }
}
