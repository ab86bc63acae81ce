//! Semantic checks on merged settings: ranges, log levels, database paths, URLs and
//! origins, OAuth2 providers, storage and replication targets.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::error::{ConfigError, ConfigSource};
use super::load::Provenance;
use super::settings::{DatabaseSettings, ReplicationSettings, Settings, StorageBackend};

/// Values accepted by `server.log_level`.
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// Smallest allowed request body limit; anything lower would reject ordinary JSON requests.
const MIN_BODY_LIMIT_BYTES: usize = 1024;

/// Upper bound on the connection timeouts (a day): a client is never meant to take longer
/// than that to send a request, and far larger values overflow deadline arithmetic.
const MAX_CONNECTION_TIMEOUT_SECONDS: u64 = 24 * 60 * 60;
/// The largest `realtime.max_subscriptions`: each subscription is checked against every
/// change, so an unbounded list would let one client slow delivery for all.
const MAX_REALTIME_SUBSCRIPTIONS: u32 = 10_000;

/// The longest a webhook delivery attempt may take: a receiver is meant to answer quickly
/// and do slow work afterwards.
const MAX_WEBHOOK_TIMEOUT_SECONDS: u64 = 300;
/// The longest first retry delay (an hour, the cap of every retry delay).
const MAX_WEBHOOK_RETRY_DELAY_MS: u64 = 60 * 60 * 1000;

/// Upper bound on token lifetime (ten years). Far larger values overflow date arithmetic
/// when an expiry timestamp is computed, and are never intended anyway.
const MAX_TOKEN_TTL_HOURS: u32 = 10 * 365 * 24;

impl Settings {
    /// Semantic checks on the merged settings. Errors name the dotted key
    /// (`auth.token_ttl_hours`); the source is [`ConfigSource::Merged`] because the layer
    /// that set the value is unknown here ([`Settings::load`] reports the actual layer).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check(&Provenance::default())
    }

    /// The checks of [`Settings::validate`], naming the layer that set a bad value where
    /// `provenance` knows it.
    pub(super) fn check(&self, provenance: &Provenance) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            Err(ConfigError::new(provenance.source_of(key), key, message))
        };

        if self.server.host.trim().is_empty() {
            return fail(
                "server.host",
                "must not be empty (e.g. 127.0.0.1)".to_owned(),
            );
        }
        if !LOG_LEVELS.contains(&self.server.log_level.as_str()) {
            return fail(
                "server.log_level",
                format!(
                    "'{}' is not a log level (expected one of {})",
                    self.server.log_level,
                    LOG_LEVELS.join(", ")
                ),
            );
        }
        if self.server.body_limit_bytes < MIN_BODY_LIMIT_BYTES {
            return fail(
                "server.body_limit_bytes",
                format!(
                    "{} is too small (minimum {MIN_BODY_LIMIT_BYTES} bytes)",
                    self.server.body_limit_bytes
                ),
            );
        }
        for (key, value) in [
            (
                "server.header_timeout_seconds",
                self.server.header_timeout_seconds,
            ),
            (
                "server.body_timeout_seconds",
                self.server.body_timeout_seconds,
            ),
            (
                "server.keep_alive_timeout_seconds",
                self.server.keep_alive_timeout_seconds,
            ),
        ] {
            if value > MAX_CONNECTION_TIMEOUT_SECONDS {
                return fail(
                    key,
                    format!(
                        "{value} is out of range (expected 0 for no limit, or up to \
                         {MAX_CONNECTION_TIMEOUT_SECONDS} seconds)"
                    ),
                );
            }
        }
        if let Err(message) = sqlite_path(&self.database.url) {
            return fail("database.url", message);
        }
        if !(1..=MAX_TOKEN_TTL_HOURS).contains(&self.auth.token_ttl_hours) {
            return fail(
                "auth.token_ttl_hours",
                format!(
                    "{} is out of range (expected 1 to {MAX_TOKEN_TTL_HOURS} hours)",
                    self.auth.token_ttl_hours
                ),
            );
        }
        if !(1..=MAX_REALTIME_SUBSCRIPTIONS).contains(&self.realtime.max_subscriptions) {
            return fail(
                "realtime.max_subscriptions",
                format!(
                    "{} is out of range (expected 1 to {MAX_REALTIME_SUBSCRIPTIONS})",
                    self.realtime.max_subscriptions
                ),
            );
        }
        if !(1..=MAX_WEBHOOK_TIMEOUT_SECONDS).contains(&self.webhooks.timeout_seconds) {
            return fail(
                "webhooks.timeout_seconds",
                format!(
                    "{} is out of range (expected 1 to {MAX_WEBHOOK_TIMEOUT_SECONDS} seconds)",
                    self.webhooks.timeout_seconds
                ),
            );
        }
        if !(1..=MAX_WEBHOOK_RETRY_DELAY_MS).contains(&self.webhooks.retry_initial_delay_ms) {
            return fail(
                "webhooks.retry_initial_delay_ms",
                format!(
                    "{} is out of range (expected 1 to {MAX_WEBHOOK_RETRY_DELAY_MS} milliseconds)",
                    self.webhooks.retry_initial_delay_ms
                ),
            );
        }
        if self.scheduler.interval_seconds < 1 {
            return fail(
                "scheduler.interval_seconds",
                "must be at least 1 second".to_owned(),
            );
        }
        for origin in &self.cors.allow_origins {
            if let Err(message) = check_origin(origin) {
                return fail("cors.allow_origins", message);
            }
        }
        if let Err((key, message)) = self.replication.check() {
            return fail(key, message);
        }
        if self.storage.backend == StorageBackend::S3 {
            if self.storage.s3_bucket.is_none() {
                return fail(
                    "storage.s3_bucket",
                    "is required when storage.backend is s3".to_owned(),
                );
            }
            if self.storage.s3_region.trim().is_empty() {
                return fail(
                    "storage.s3_region",
                    "must not be empty (e.g. us-east-1)".to_owned(),
                );
            }
            if let Some(endpoint) = &self.storage.s3_endpoint
                && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            {
                return fail(
                    "storage.s3_endpoint",
                    format!("'{endpoint}' is not a URL starting with http:// or https://"),
                );
            }
        }
        if self.mail.smtp_host.is_some()
            && let Err(err) = self.mail.from.parse::<lettre::message::Mailbox>()
        {
            return fail(
                "mail.from",
                format!(
                    "'{}' is not a mail address ({err}); e.g. \"My App <noreply@example.com>\"",
                    self.mail.from
                ),
            );
        }
        if let Err(message) = check_http_url(&self.mail.app_url) {
            return fail("mail.app_url", message);
        }
        for url in &self.auth.oauth2_redirect_urls {
            if let Err(message) = check_http_url(url) {
                return fail("auth.oauth2_redirect_urls", message);
            }
        }
        let mut names = BTreeSet::new();
        for provider in &self.auth.oauth2 {
            if let Err(message) = super::oauth2::check_provider(provider, check_http_url) {
                return fail("auth.oauth2", message);
            }
            let name = provider.resolved().name;
            if !names.insert(name.clone()) {
                return fail("auth.oauth2", format!("two providers are named '{name}'"));
            }
        }
        Ok(())
    }
}

/// Shortest allowed `replication.sync_interval_ms`: shipping more often only multiplies
/// requests to the replica.
const MIN_SYNC_INTERVAL_MS: u64 = 100;

/// Longest allowed `replication.sync_interval_ms` (a day).
const MAX_SYNC_INTERVAL_MS: u64 = 24 * 60 * 60 * 1000;

/// Where `replication.url` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaTarget {
    /// A directory on this machine (or a mounted volume).
    File(PathBuf),
    /// A bucket of an S3-compatible service, and the key prefix inside it (no leading or
    /// trailing slash; may be empty).
    S3 {
        /// The bucket name.
        bucket: String,
        /// The key prefix, e.g. `prod/app`.
        prefix: String,
    },
}

impl ReplicationSettings {
    /// Whether replication is configured.
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// The replica `url` points at; `None` when replication is off.
    ///
    /// # Errors
    /// A message saying what is wrong with the URL.
    pub fn target(&self) -> Result<Option<ReplicaTarget>, String> {
        self.url.as_deref().map(parse_replica_url).transpose()
    }

    /// Semantic checks; the error names the offending key.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(primary) = &self.primary_url {
            check_primary_url(primary).map_err(|m| ("replication.primary_url", m))?;
        }
        let Some(target) = self.target().map_err(|m| ("replication.url", m))? else {
            return Ok(());
        };
        if !(MIN_SYNC_INTERVAL_MS..=MAX_SYNC_INTERVAL_MS).contains(&self.sync_interval_ms) {
            return Err((
                "replication.sync_interval_ms",
                format!(
                    "{} is out of range (expected {MIN_SYNC_INTERVAL_MS} to \
                     {MAX_SYNC_INTERVAL_MS} milliseconds)",
                    self.sync_interval_ms
                ),
            ));
        }
        if self.litestream_bin.trim().is_empty() {
            return Err((
                "replication.litestream_bin",
                "must not be empty (the default `litestream` looks it up on PATH)".to_owned(),
            ));
        }
        if let Some(endpoint) = &self.s3_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err((
                "replication.s3_endpoint",
                format!("'{endpoint}' must start with http:// or https://"),
            ));
        }
        match (&self.s3_access_key_id, &self.s3_secret_access_key) {
            (Some(_), None) => {
                return Err((
                    "replication.s3_secret_access_key",
                    "is missing: an access key id needs its secret key".to_owned(),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "replication.s3_access_key_id",
                    "is missing: a secret key needs its access key id".to_owned(),
                ));
            }
            _ => {}
        }
        if matches!(target, ReplicaTarget::File(_))
            && (self.s3_endpoint.is_some() || self.s3_access_key_id.is_some())
        {
            return Err((
                "replication.url",
                "is a file:// replica, but S3 settings are set too; use an s3:// URL or \
                 remove the replication.s3_* settings"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// The primary's URL must be a plain base URL: requests are forwarded to it with their
/// own path and query appended.
fn check_primary_url(url: &str) -> Result<(), String> {
    // Plain HTTP: nodes talk over a private network (TLS ends at the load balancer).
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("'{url}' must start with http:// (the primary's address on the private network)")
    })?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#']) {
        return Err(format!(
            "'{url}' must be the primary's base URL without a path, such as http://10.0.0.1:8000"
        ));
    }
    Ok(())
}

fn parse_replica_url(url: &str) -> Result<ReplicaTarget, String> {
    const EXAMPLES: &str = "use file:///absolute/directory or s3://bucket/prefix";
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(format!(
                "'{url}' is not an absolute file URL (three slashes: file:///var/backups/app); \
                 {EXAMPLES}"
            ));
        }
        if path.len() < 2 {
            return Err(format!("'{url}' names the root directory; {EXAMPLES}"));
        }
        return Ok(ReplicaTarget::File(PathBuf::from(path)));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("'{url}' has no bucket; {EXAMPLES}"));
        }
        if url.contains('?') || url.contains('#') {
            return Err(format!(
                "'{url}' has query parameters; give the endpoint, region and path style \
                 with the replication.s3_* settings instead"
            ));
        }
        return Ok(ReplicaTarget::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        });
    }
    // Only the scheme is echoed: the rest of a URL may hold a secret.
    let scheme = url_scheme(url).unwrap_or("(none)");
    Err(format!(
        "unsupported replica URL scheme `{scheme}`; {EXAMPLES}"
    ))
}

impl DatabaseSettings {
    /// The SQLite file path for `url`.
    ///
    /// Accepts `sqlite:///relative/path.db` (→ `relative/path.db`; the default gives
    /// `./tinybase.db`), `sqlite:////abs/path.db` (→ `/abs/path.db`) and plain paths
    /// (`data/app.db`, `/var/lib/app.db`). Rejects empty values, in-memory databases
    /// (WAL needs a file), `sqlite://relative.db` (ambiguous; a fix is suggested) and any
    /// other scheme (only SQLite is supported).
    pub fn path(&self) -> Result<PathBuf, ConfigError> {
        sqlite_path(&self.url)
            .map_err(|message| ConfigError::new(ConfigSource::Merged, "database.url", message))
    }
}

fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    const EXAMPLES: &str =
        "use sqlite:///relative/path.db, sqlite:////absolute/path.db or a plain file path";

    if url.trim().is_empty() {
        return Err(format!("the database URL is empty; {EXAMPLES}"));
    }
    if url.trim() != url {
        // Usually a stray newline from a secrets file; never what was meant.
        return Err(format!(
            "'{url}' has leading or trailing whitespace; remove it"
        ));
    }
    let lower = url.to_ascii_lowercase();
    if lower.contains(":memory:") || lower.contains("mode=memory") {
        return Err(format!(
            "'{url}' is an in-memory database, which is not supported: TinyBase needs a \
             database file so WAL mode works; for throwaway data use a file in a temporary \
             directory"
        ));
    }
    if let Some(rest) = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite:"))
        .and_then(|_| url.get(7..))
    {
        let Some(after_slashes) = rest.strip_prefix("//") else {
            return Err(format!("'{url}' is not a supported SQLite URL; {EXAMPLES}"));
        };
        let path = match after_slashes.strip_prefix('/') {
            Some(path) => path,
            None if after_slashes.is_empty() => "",
            None => {
                // In URL syntax the part after `//` is a host, so `sqlite://app.db` is
                // ambiguous; make the user say which path they mean.
                return Err(format!(
                    "'{url}' is ambiguous (after sqlite:// comes a host, not a path); for a \
                     file relative to the working directory write sqlite:///{after_slashes}, \
                     for an absolute path sqlite:////path/to/file.db"
                ));
            }
        };
        if path.is_empty() {
            return Err(format!("'{url}' has no file path; {EXAMPLES}"));
        }
        if path.contains('?') {
            return Err(format!(
                "'{url}' has query parameters, which are not supported; give only the file path"
            ));
        }
        return Ok(PathBuf::from(path));
    }
    if let Some(scheme) = url_scheme(url) {
        // Only the scheme is echoed: the rest of a server URL may hold a password.
        return Err(format!(
            "unsupported database URL scheme `{scheme}:`; TinyBase only supports SQLite ({EXAMPLES})"
        ));
    }
    Ok(PathBuf::from(url))
}

/// The scheme of `url` if it looks like `scheme:...`. Single letters are not schemes so
/// Windows paths such as `C:\data\app.db` stay plain paths.
fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_valid = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme.len() >= 2 && starts_with_letter && rest_valid).then_some(scheme)
}

/// An absolute `http(s)://host…` URL.
fn check_http_url(url: &str) -> Result<(), String> {
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(format!(
            "'{url}' is not an absolute URL (expected http://host… or https://host…)"
        )),
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let Some(host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return Err(format!(
            "'{origin}' is not a valid origin (expected \"*\" or a URL starting with http:// or https://)"
        ));
    };
    if host.is_empty() {
        return Err(format!("'{origin}' has no host name"));
    }
    // Browsers send `Origin: https://host[:port]` with no path, so such an entry would
    // never match.
    if host.contains('/') {
        return Err(format!(
            "'{origin}' has a path or trailing slash; an origin is only scheme, host and \
             optional port, e.g. https://app.example.com"
        ));
    }
    Ok(())
}

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{OAuth2Preset, OAuth2Provider};

    fn path_of(url: &str) -> Result<PathBuf, ConfigError> {
        DatabaseSettings {
            url: url.to_owned(),
        }
        .path()
    }

    #[test]
    fn replica_urls_are_parsed_or_rejected_with_a_reason() {
        let target = |url: &str| {
            ReplicationSettings {
                url: Some(url.to_owned()),
                ..ReplicationSettings::default()
            }
            .target()
        };
        assert_eq!(
            target("file:///var/backups/app").unwrap(),
            Some(ReplicaTarget::File(PathBuf::from("/var/backups/app")))
        );
        assert_eq!(
            target("s3://bucket/prod/app/").unwrap(),
            Some(ReplicaTarget::S3 {
                bucket: "bucket".to_owned(),
                prefix: "prod/app".to_owned()
            })
        );
        assert_eq!(
            target("s3://bucket").unwrap(),
            Some(ReplicaTarget::S3 {
                bucket: "bucket".to_owned(),
                prefix: String::new()
            })
        );
        for (url, reason) in [
            ("file://relative/dir", "not an absolute file URL"),
            ("s3:///prefix", "has no bucket"),
            ("s3://bucket/x?endpoint=http://h", "query parameters"),
            ("gcs://bucket/x", "unsupported replica URL scheme `gcs`"),
            ("/var/backups", "unsupported replica URL scheme"),
        ] {
            let err = target(url).unwrap_err();
            assert!(err.contains(reason), "{url}: {err}");
        }
        assert_eq!(ReplicationSettings::default().target().unwrap(), None);
    }

    #[test]
    fn bad_replication_settings_name_their_key() {
        let base = || {
            let mut s = Settings::default();
            s.replication.url = Some("s3://bucket/app".to_owned());
            s
        };
        let key_of = |s: Settings| s.validate().unwrap_err().key;
        let mut s = base();
        s.replication.sync_interval_ms = 10;
        assert_eq!(key_of(s), "replication.sync_interval_ms");
        let mut s = base();
        s.replication.s3_access_key_id = Some("id".to_owned());
        assert_eq!(key_of(s), "replication.s3_secret_access_key");
        let mut s = base();
        s.replication.s3_endpoint = Some("127.0.0.1:9000".to_owned());
        assert_eq!(key_of(s), "replication.s3_endpoint");
        let mut s = base();
        s.replication.litestream_bin = " ".to_owned();
        assert_eq!(key_of(s), "replication.litestream_bin");

        for bad in [
            "10.0.0.1:8000",
            "https://primary",
            "http://",
            "http://p:8000/api",
        ] {
            let mut s = Settings::default();
            s.replication.primary_url = Some(bad.to_owned());
            assert_eq!(key_of(s), "replication.primary_url", "{bad}");
        }
        let mut s = Settings::default();
        s.replication.primary_url = Some("http://primary.internal:8000/".to_owned());
        assert!(s.validate().is_ok());
        let mut s = base();
        s.replication.url = Some("file:///srv/replica".to_owned());
        s.replication.s3_endpoint = Some("http://127.0.0.1:9000".to_owned());
        assert_eq!(key_of(s), "replication.url");
        // Off by default, and nothing else is checked while it is off.
        let mut s = Settings::default();
        s.replication.sync_interval_ms = 0;
        s.validate().unwrap();
        base().validate().unwrap();
    }

    #[test]
    fn s3_storage_needs_a_bucket_and_an_http_endpoint() {
        let err = Settings::load_with(
            None,
            Path::new("/nonexistent"),
            [("TINYBASE_STORAGE_BACKEND".to_owned(), "s3".to_owned())],
        )
        .unwrap_err();
        assert_eq!(err.key, "storage.s3_bucket");
        let err = Settings::load_with(
            None,
            Path::new("/nonexistent"),
            [
                ("TINYBASE_STORAGE_BACKEND".to_owned(), "s3".to_owned()),
                ("TINYBASE_STORAGE_S3_BUCKET".to_owned(), "b".to_owned()),
                (
                    "TINYBASE_STORAGE_S3_ENDPOINT".to_owned(),
                    "127.0.0.1:9000".to_owned(),
                ),
            ],
        )
        .unwrap_err();
        assert_eq!(err.key, "storage.s3_endpoint");
        let err = Settings::load_with(
            None,
            Path::new("/nonexistent"),
            [("TINYBASE_STORAGE_BACKEND".to_owned(), "ftp".to_owned())],
        )
        .unwrap_err();
        assert_eq!(err.key, "storage.backend");
    }

    #[test]
    fn database_url_forms_that_are_accepted() {
        assert_eq!(
            path_of("sqlite:///./tinybase.db").unwrap(),
            PathBuf::from("./tinybase.db")
        );
        assert_eq!(
            path_of("sqlite:///relative/path.db").unwrap(),
            PathBuf::from("relative/path.db")
        );
        assert_eq!(
            path_of("sqlite:////abs/path.db").unwrap(),
            PathBuf::from("/abs/path.db")
        );
        assert_eq!(path_of("SQLite:///x.db").unwrap(), PathBuf::from("x.db"));
        assert_eq!(
            path_of("data/app.db").unwrap(),
            PathBuf::from("data/app.db")
        );
        assert_eq!(
            path_of("/var/lib/app.db").unwrap(),
            PathBuf::from("/var/lib/app.db")
        );
        assert_eq!(
            path_of("C:\\data\\app.db").unwrap(),
            PathBuf::from("C:\\data\\app.db")
        );
    }

    #[test]
    fn database_url_forms_that_are_rejected() {
        let message = |url: &str| {
            let err = path_of(url).expect_err(url);
            assert_eq!(err.key, "database.url");
            err.message
        };
        assert!(message("").contains("empty"));
        assert!(message("   ").contains("empty"));
        assert!(message("data/app.db\n").contains("whitespace"));
        for url in [
            ":memory:",
            "sqlite::memory:",
            "sqlite://:memory:",
            "file::memory:?cache=shared",
        ] {
            let m = message(url);
            assert!(m.contains("WAL"), "{url}: {m}");
            assert!(m.contains("temporary"), "{url}: {m}");
        }
        let m = message("sqlite://relative.db");
        assert!(m.contains("ambiguous"), "{m}");
        assert!(m.contains("sqlite:///relative.db"), "{m}");
        assert!(message("sqlite:///").contains("no file path"));
        assert!(message("sqlite://").contains("no file path"));
        assert!(message("sqlite:app.db").contains("not a supported SQLite URL"));
        assert!(message("sqlite:///app.db?mode=rwc").contains("query parameters"));

        let m = message("postgres://user:hunter2@db/app");
        assert!(m.contains("`postgres:`"), "{m}");
        assert!(m.contains("only supports SQLite"), "{m}");
        assert!(
            !m.contains("hunter2"),
            "credentials must not be echoed: {m}"
        );
        assert!(message("mysql://db/app").contains("only supports SQLite"));
    }

    #[test]
    fn validate_rejects_bad_values_with_dotted_keys() {
        let check = |change: fn(&mut Settings), key: &str, needle: &str| {
            let mut s = Settings::default();
            change(&mut s);
            let err = s.validate().expect_err(key);
            assert_eq!(err.key, key);
            assert_eq!(err.source_of, ConfigSource::Merged);
            assert!(err.message.contains(needle), "{key}: {}", err.message);
        };
        check(
            |s| s.auth.token_ttl_hours = 0,
            "auth.token_ttl_hours",
            "out of range",
        );
        check(
            |s| s.auth.token_ttl_hours = u32::MAX,
            "auth.token_ttl_hours",
            "out of range",
        );
        check(
            |s| s.realtime.max_subscriptions = 0,
            "realtime.max_subscriptions",
            "out of range",
        );
        check(
            |s| s.realtime.max_subscriptions = 10_001,
            "realtime.max_subscriptions",
            "out of range",
        );
        check(
            |s| s.server.log_level = "loud".to_owned(),
            "server.log_level",
            "'loud' is not a log level",
        );
        check(
            |s| s.server.log_level = "INFO".to_owned(),
            "server.log_level",
            "trace, debug",
        );
        check(|s| s.server.host = " ".to_owned(), "server.host", "empty");
        check(
            |s| {
                s.mail.smtp_host = Some("localhost".to_owned());
                s.mail.from = "not an address".to_owned();
            },
            "mail.from",
            "is not a mail address",
        );
        check(
            |s| s.mail.app_url = "example.com".to_owned(),
            "mail.app_url",
            "not an absolute URL",
        );
        check(
            |s| s.auth.oauth2_redirect_urls = vec!["/relative".to_owned()],
            "auth.oauth2_redirect_urls",
            "not an absolute URL",
        );
        check(
            |s| {
                s.auth.oauth2 = vec![OAuth2Provider {
                    name: "Bad Name".to_owned(),
                    ..OAuth2Provider::default()
                }]
            },
            "auth.oauth2",
            "lower-case letters",
        );
        check(
            |s| {
                s.auth.oauth2 = vec![OAuth2Provider {
                    name: "corp".to_owned(),
                    client_id: "x".to_owned(),
                    ..OAuth2Provider::default()
                }]
            },
            "auth.oauth2",
            "has no issuer",
        );
        check(
            |s| {
                let provider = OAuth2Provider {
                    name: "corp".to_owned(),
                    issuer: Some("https://id.example.com".to_owned()),
                    client_id: "x".to_owned(),
                    ..OAuth2Provider::default()
                };
                s.auth.oauth2 = vec![provider.clone(), provider];
            },
            "auth.oauth2",
            "two providers are named 'corp'",
        );
        // A preset's name is the default name, so two unnamed GitHub providers collide.
        check(
            |s| {
                let provider = OAuth2Provider {
                    preset: Some(OAuth2Preset::Github),
                    client_id: "x".to_owned(),
                    ..OAuth2Provider::default()
                };
                s.auth.oauth2 = vec![provider.clone(), provider];
            },
            "auth.oauth2",
            "two providers are named 'github'",
        );
        let explicit = || OAuth2Provider {
            name: "corp".to_owned(),
            auth_url: Some("https://id.example.com/authorize".to_owned()),
            token_url: Some("https://id.example.com/token".to_owned()),
            userinfo_url: Some("https://id.example.com/me".to_owned()),
            client_id: "x".to_owned(),
            ..OAuth2Provider::default()
        };
        for (provider, message) in [
            (
                OAuth2Provider {
                    issuer: Some("https://id.example.com".to_owned()),
                    ..explicit()
                },
                "provider 'corp' has both issuer (OpenID Connect discovery) and auth_url, \
                 token_url, userinfo_url; give one or the other",
            ),
            (
                OAuth2Provider {
                    preset: Some(OAuth2Preset::Google),
                    ..explicit()
                },
                "provider 'corp' (preset google) has both issuer",
            ),
            (
                OAuth2Provider {
                    preset: Some(OAuth2Preset::Github),
                    issuer: Some("https://id.example.com".to_owned()),
                    ..OAuth2Provider::default()
                },
                "provider 'github' (preset github) has both issuer (OpenID Connect \
                 discovery) and auth_url, token_url, userinfo_url, emails_url",
            ),
            (
                OAuth2Provider {
                    token_url: None,
                    ..explicit()
                },
                "provider 'corp' has no token_url: explicit endpoints need auth_url, \
                 token_url and userinfo_url",
            ),
            (
                OAuth2Provider {
                    userinfo_url: None,
                    ..explicit()
                },
                "provider 'corp' has no userinfo_url",
            ),
            (
                OAuth2Provider {
                    auth_url: Some("id.example.com/authorize".to_owned()),
                    ..explicit()
                },
                "provider 'corp': auth_url 'id.example.com/authorize' is not an absolute URL",
            ),
            (
                OAuth2Provider {
                    emails_url: Some("/emails".to_owned()),
                    ..explicit()
                },
                "provider 'corp': emails_url '/emails' is not an absolute URL",
            ),
            (
                OAuth2Provider {
                    client_id: " ".to_owned(),
                    ..explicit()
                },
                "provider 'corp' has no client_id",
            ),
        ] {
            let mut s = Settings::default();
            s.auth.oauth2 = vec![provider];
            let err = s.validate().expect_err(message);
            assert_eq!(err.key, "auth.oauth2");
            assert!(err.message.contains(message), "{}", err.message);
        }
        // Complete explicit endpoints, and presets pointed elsewhere, are accepted.
        let mut s = Settings::default();
        s.auth.oauth2 = vec![
            explicit(),
            OAuth2Provider {
                preset: Some(OAuth2Preset::Github),
                token_url: Some("http://127.0.0.1:9000/token".to_owned()),
                client_id: "x".to_owned(),
                ..OAuth2Provider::default()
            },
            OAuth2Provider {
                preset: Some(OAuth2Preset::Google),
                client_id: "x".to_owned(),
                ..OAuth2Provider::default()
            },
        ];
        s.validate().unwrap();
        check(
            |s| s.server.body_limit_bytes = 1023,
            "server.body_limit_bytes",
            "minimum 1024",
        );
        check(
            |s| s.server.header_timeout_seconds = 86_401,
            "server.header_timeout_seconds",
            "out of range",
        );
        check(
            |s| s.server.body_timeout_seconds = u64::MAX,
            "server.body_timeout_seconds",
            "up to 86400 seconds",
        );
        check(
            |s| s.server.keep_alive_timeout_seconds = 100_000,
            "server.keep_alive_timeout_seconds",
            "0 for no limit",
        );
        check(
            |s| s.scheduler.interval_seconds = 0,
            "scheduler.interval_seconds",
            "at least 1",
        );
        check(
            |s| s.database.url = "postgres://x".to_owned(),
            "database.url",
            "SQLite",
        );
        check(
            |s| s.cors.allow_origins = vec!["example.com".to_owned()],
            "cors.allow_origins",
            "http://",
        );
        check(
            |s| s.cors.allow_origins = vec!["https://a.example/".to_owned()],
            "cors.allow_origins",
            "trailing slash",
        );
        check(
            |s| s.cors.allow_origins = vec!["https://".to_owned()],
            "cors.allow_origins",
            "no host",
        );
    }

    #[test]
    fn validate_accepts_edge_values() {
        let mut s = Settings::default();
        s.server.port = 0;
        s.server.body_limit_bytes = 1024;
        s.server.header_timeout_seconds = 0;
        s.server.body_timeout_seconds = 86_400;
        s.server.keep_alive_timeout_seconds = 1;
        s.auth.token_ttl_hours = 1;
        s.auth.login_limit_per_email = 0;
        s.scheduler.interval_seconds = 1;
        s.cors.allow_origins = vec!["*".to_owned(), "http://localhost:5173".to_owned()];
        for level in LOG_LEVELS {
            s.server.log_level = (*level).to_owned();
            s.validate().unwrap();
        }
    }
}
