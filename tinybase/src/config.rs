//! Server configuration: one [`Settings`] value assembled from layers.
//!
//! Precedence, lowest to highest: built-in defaults, a TOML file ([`DEFAULT_CONFIG_FILE`]
//! or an explicit path), `TINYBASE_*` environment variables, and finally command-line
//! flags, which the caller applies itself before calling [`Settings::validate`].
//!
//! Mistakes are errors, never silent defaults: an unknown key or variable, or a value of
//! the wrong type, produces a [`ConfigError`] naming the setting and where it came from.
//! Every setting is listed exactly once in `SETTINGS`, which ties its dotted file key to its
//! environment variable, so the two spellings cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// File name looked up in the working directory when no config path is given.
pub const DEFAULT_CONFIG_FILE: &str = "tinybase.toml";

/// Environment variable conventionally used to point at the config file.
///
/// It is not a setting (it selects the file that holds the settings), so the loader
/// accepts and ignores it instead of rejecting it as an unknown `TINYBASE_*` variable.
/// The CLI may read it, e.g. as the `env` of its `--config` flag.
pub const CONFIG_FILE_ENV: &str = "TINYBASE_CONFIG";

/// Every environment variable that must start with this prefix to be considered ours.
const ENV_PREFIX: &str = "TINYBASE_";

/// Values accepted by `server.log_level`.
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// The `admin.static_dir` value that means the UI embedded in the binary.
const BUILTIN_ADMIN_UI: &str = "builtin";

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

/// The complete server configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener and logging (`[server]`).
    pub server: ServerSettings,
    /// Database location (`[database]`).
    pub database: DatabaseSettings,
    /// Login tokens and rate limits (`[auth]`).
    pub auth: AuthSettings,
    /// User function execution (`[functions]`).
    pub functions: FunctionSettings,
    /// Background job scheduler (`[scheduler]`).
    pub scheduler: SchedulerSettings,
    /// Cross-origin requests from browsers (`[cors]`).
    pub cors: CorsSettings,
    /// Admin account and admin UI (`[admin]`).
    pub admin: AdminSettings,
    /// Live record changes and the change log under them (`[realtime]`).
    pub realtime: RealtimeSettings,
    /// Continuous replication with Litestream (`[replication]`).
    pub replication: ReplicationSettings,
    /// Where uploaded files are kept (`[storage]`).
    pub storage: StorageSettings,
    /// Outgoing mail for account flows (`[mail]`).
    pub mail: MailSettings,
    /// Webhook delivery (`[webhooks]`).
    pub webhooks: WebhookSettings,
}

/// The `[server]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on. Default `127.0.0.1`.
    pub host: String,
    /// TCP port; 0 lets the OS pick a free port. Default 8000.
    pub port: u16,
    /// Debug mode, meant for development only. Default false.
    pub debug: bool,
    /// One of `trace`, `debug`, `info`, `warn`, `error`, `off`. Default `info`.
    pub log_level: String,
    /// Largest accepted request body in bytes. Default 10 MiB.
    pub body_limit_bytes: usize,
    /// Seconds a client has to send a request's line and headers, from their first byte;
    /// a connection still sending them is then closed. 0 = no limit. Default 10.
    pub header_timeout_seconds: u64,
    /// Seconds a client has to send a request's body, from the end of its headers; a
    /// handler still reading it then answers 408. 0 = no limit. Default 30.
    pub body_timeout_seconds: u64,
    /// Seconds a connection may stay open with no request on it (before the first one or
    /// between kept-alive ones). 0 = no limit. Default 30.
    pub keep_alive_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            debug: false,
            log_level: "info".to_owned(),
            body_limit_bytes: 10 * 1024 * 1024,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            keep_alive_timeout_seconds: 30,
        }
    }
}

/// The `[database]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// SQLite location as a `sqlite:///` URL or a plain path; see [`DatabaseSettings::path`].
    /// Default `sqlite:///./tinybase.db`.
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite:///./tinybase.db".to_owned(),
        }
    }
}

/// The `[auth]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of a login token in hours. Default 24.
    pub token_ttl_hours: u32,
    /// Login attempts per minute allowed for one email address; 0 disables the limit.
    /// Default 10.
    pub login_limit_per_email: u32,
    /// Login attempts per minute allowed from one client IP; 0 disables the limit.
    /// Default 100.
    pub login_limit_per_ip: u32,
    /// Whether anyone may sign up with `POST /api/auth/register`. Default open.
    pub registration: Registration,
    /// Registration attempts per minute allowed from one client IP, whatever their outcome;
    /// 0 disables the limit. Default 20.
    pub registration_limit_per_ip: u32,
    /// Whether login refuses users whose email is not verified (403
    /// `email_not_verified`). Default false.
    pub require_verified_email: bool,
    /// Mail requests (verification, password reset, email change) per minute for one
    /// email address; 0 disables the limit. Default 5.
    pub mail_limit_per_email: u32,
    /// Mail requests per minute from one client IP; 0 disables the limit. Default 50.
    pub mail_limit_per_ip: u32,
    /// Where an OAuth2 sign-in may send the browser back to: `redirect_to` must start with
    /// one of these URLs. Default empty (OAuth2 sign-in has nowhere to return to).
    pub oauth2_redirect_urls: Vec<String>,
    /// OAuth2 / OpenID Connect providers (`[[auth.oauth2]]`). Default none.
    pub oauth2: Vec<OAuth2Provider>,
}

/// One `[[auth.oauth2]]` provider. Either `issuer` (OpenID Connect discovery) or the
/// explicit endpoints.
// Debug is implemented by hand so the client secret never ends up in logs.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2Provider {
    /// Name used in URLs (`/api/auth/oauth2/{name}/start`): lower-case letters, digits,
    /// `-` and `_`.
    pub name: String,
    /// Name shown to users; defaults to `name`.
    #[serde(deserialize_with = "empty_as_none")]
    pub display_name: Option<String>,
    /// OpenID Connect issuer URL; its `/.well-known/openid-configuration` supplies the
    /// endpoints and signing keys.
    #[serde(deserialize_with = "empty_as_none")]
    pub issuer: Option<String>,
    /// Client id registered with the provider.
    pub client_id: String,
    /// Client secret registered with the provider.
    #[serde(deserialize_with = "empty_as_none")]
    pub client_secret: Option<String>,
    /// Scopes to ask for besides `openid`; empty means `email` and `profile`.
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl_hours: 24,
            login_limit_per_email: 10,
            login_limit_per_ip: 100,
            registration: Registration::Open,
            registration_limit_per_ip: 20,
            require_verified_email: false,
            mail_limit_per_email: 5,
            mail_limit_per_ip: 50,
            oauth2_redirect_urls: Vec::new(),
            oauth2: Vec::new(),
        }
    }
}

/// Who may create an account through `POST /api/auth/register` (`auth.registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register.
    #[default]
    Open,
    /// Registration answers 403 `registration_closed`; admins create accounts with
    /// `POST /api/admin/users`.
    Closed,
}

/// The `[functions]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FunctionSettings {
    /// Maximum run time of one function call in seconds; 0 means no timeout. Default 0.
    pub timeout_seconds: u64,
    /// Days the call history keeps a call; older calls are deleted hourly. 0 keeps them
    /// forever. Default 30.
    pub call_retention_days: u32,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        Self {
            timeout_seconds: 0,
            call_retention_days: 30,
        }
    }
}

/// The `[scheduler]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Whether this process runs scheduled jobs. Default true.
    pub enabled: bool,
    /// How often the scheduler looks for due jobs, in seconds. Default 5.
    pub interval_seconds: u64,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_seconds: 5,
        }
    }
}

/// The `[realtime]` section: event streams and the change log they (and resuming clients)
/// read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeSettings {
    /// The most subscriptions one stream may hold (1 to 10,000). Default 100.
    pub max_subscriptions: u32,
    /// Days the change log keeps a change (pruned hourly); 0 means no age limit. A client
    /// that reconnects after a longer gap gets `event: reset`. Default 7.
    pub change_log_max_age_days: u32,
    /// The most changes the change log keeps (the oldest go first, hourly); 0 means no
    /// count limit. Default 100,000.
    pub change_log_max_rows: u64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            max_subscriptions: 100,
            change_log_max_age_days: 7,
            change_log_max_rows: 100_000,
        }
    }
}

/// The `[webhooks]` section: how deliveries to webhook URLs are sent and retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Seconds one delivery attempt may take, connecting and answering included (1 to
    /// 300). Default 10.
    pub timeout_seconds: u64,
    /// Milliseconds before the first retry of a failed delivery; each later retry waits
    /// twice as long as the one before, at most an hour. Default 10000.
    pub retry_initial_delay_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout_seconds: 10,
            retry_initial_delay_ms: 10_000,
        }
    }
}

/// The `[cors]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Allowed browser origins such as `https://app.example.com`. Empty turns CORS off;
    /// `"*"` allows any origin. Default empty.
    pub allow_origins: Vec<String>,
}

/// The `[admin]` section. An empty string, in the file or the environment, means unset.
// Debug is implemented by hand so the password never ends up in logs.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Email of the initial admin account. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub email: Option<String>,
    /// Password of the initial admin account. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub password: Option<String>,
    /// Directory of admin UI files to serve. Default unset: the UI embedded in the binary
    /// (also meant by `"builtin"`).
    #[serde(deserialize_with = "static_dir")]
    pub static_dir: Option<PathBuf>,
}

impl fmt::Debug for AdminSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminSettings")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("static_dir", &self.static_dir)
            .finish()
    }
}

/// The `[replication]` section: where Litestream ships the database. Replication is off
/// while `url` is unset. An empty string, in the file or the environment, means unset.
// Debug is implemented by hand so the secret key never ends up in logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationSettings {
    /// The replica: `file:///absolute/dir` or `s3://bucket/prefix`. Default unset (off).
    #[serde(deserialize_with = "empty_as_none")]
    pub url: Option<String>,
    /// S3-compatible service endpoint such as `http://127.0.0.1:9000`. Default unset (AWS).
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_endpoint: Option<String>,
    /// S3 region. Default unset (Litestream's default, `us-east-1`).
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_region: Option<String>,
    /// S3 access key id. Default unset: Litestream's usual AWS credential chain.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_secret_access_key: Option<String>,
    /// Path-style bucket addressing (`endpoint/bucket/key`), which most self-hosted
    /// S3-compatible services need. Default false.
    pub s3_path_style: bool,
    /// How often Litestream ships new changes to the replica, in milliseconds: the most
    /// recent writes a lost machine can take with it. Default 1000.
    pub sync_interval_ms: u64,
    /// The Litestream executable: a path, or a name looked up on `PATH`. Default
    /// `litestream`.
    pub litestream_bin: String,
    /// For `serve --replica`: the primary's base URL (`http://10.0.0.1:8000`), where a
    /// read replica forwards writes, sign-ins and function calls. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub primary_url: Option<String>,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        Self {
            url: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: false,
            sync_interval_ms: 1000,
            litestream_bin: "litestream".to_owned(),
            primary_url: None,
        }
    }
}

/// The `[mail]` section: the SMTP server that sends account mails, and what they say.
// Debug is implemented by hand so the SMTP password never ends up in logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// SMTP server host name. Default unset: no mail is sent, and the endpoints that would
    /// send one answer 503 `mail_not_configured`.
    #[serde(deserialize_with = "empty_as_none")]
    pub smtp_host: Option<String>,
    /// SMTP server port. Default 587.
    pub smtp_port: u16,
    /// SMTP user name. Default unset (no authentication).
    #[serde(deserialize_with = "empty_as_none")]
    pub smtp_username: Option<String>,
    /// SMTP password. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub smtp_password: Option<String>,
    /// Transport security: `none`, `starttls` or `tls`. Default `starttls`.
    pub smtp_tls: SmtpTls,
    /// Sender of every mail, `Name <address>` or a bare address.
    /// Default `TinyBase <noreply@localhost>`.
    pub from: String,
    /// Base URL of the app the links in mails point at (`{app_url}/verify-email?token=…`).
    /// Default `http://127.0.0.1:8000`.
    pub app_url: String,
    /// App name used in mails. Default `TinyBase`.
    pub app_name: String,
    /// Directory of template files overriding the built-in mails
    /// (`verification.subject.txt`, `verification.txt`, `verification.html`, and the same
    /// for `password_reset` and `email_change`). Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub templates_dir: Option<PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::Starttls,
            from: "TinyBase <noreply@localhost>".to_owned(),
            app_url: "http://127.0.0.1:8000".to_owned(),
            app_name: "TinyBase".to_owned(),
            templates_dir: None,
        }
    }
}

impl fmt::Debug for ReplicationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationSettings")
            .field("url", &self.url)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("s3_path_style", &self.s3_path_style)
            .field("sync_interval_ms", &self.sync_interval_ms)
            .field("litestream_bin", &self.litestream_bin)
            .field("primary_url", &self.primary_url)
            .finish()
    }
}

/// The `[storage]` section: where uploaded files are kept.
// Debug is implemented by hand so the secret key never ends up in logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// `local` (a folder) or `s3` (an S3-compatible service). Default `local`.
    pub backend: StorageBackend,
    /// The folder of the local backend; relative to the database file's folder. Default
    /// unset: `storage` beside the database.
    #[serde(deserialize_with = "empty_as_none")]
    pub path: Option<PathBuf>,
    /// The bucket of the S3 backend. Required for `s3`.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_bucket: Option<String>,
    /// The S3 endpoint URL, for services other than AWS (MinIO, R2, …). Default unset: AWS.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_endpoint: Option<String>,
    /// The S3 region. Default `us-east-1`.
    pub s3_region: String,
    /// The S3 access key id. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_access_key_id: Option<String>,
    /// The S3 secret access key. Default unset.
    #[serde(deserialize_with = "empty_as_none")]
    pub s3_secret_access_key: Option<String>,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint` (most
    /// self-hosted services need this). Default false.
    pub s3_path_style: bool,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            path: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".to_owned(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: false,
        }
    }
}

impl fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageSettings")
            .field("backend", &self.backend)
            .field("path", &self.path)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("s3_path_style", &self.s3_path_style)
            .finish()
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("smtp_tls", &self.smtp_tls)
            .field("from", &self.from)
            .field("app_url", &self.app_url)
            .field("app_name", &self.app_name)
            .field("templates_dir", &self.templates_dir)
            .finish()
    }
}

/// Where files are stored (`storage.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A folder on local disk.
    #[default]
    Local,
    /// An S3-compatible object storage service.
    S3,
}

/// How the connection to the SMTP server is secured (`mail.smtp_tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text; only for a server on the same machine or network.
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Reads an optional string where `""` means "not set", matching the environment rule,
/// so `email = ""` in the file cannot create an admin with an empty email.
fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|s| !s.is_empty()).map(T::from))
}

/// `admin.static_dir`: like [`empty_as_none`], and `"builtin"` means the embedded UI.
fn static_dir<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<PathBuf>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value
        .filter(|s| !s.is_empty() && s != BUILTIN_ADMIN_UI)
        .map(PathBuf::from))
}

/// Where a setting came from; shown in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The built-in default values.
    Defaults,
    /// A TOML config file at this path.
    File(PathBuf),
    /// An environment variable with this name.
    Env(String),
    /// A command-line flag with this name (`--port`; a name without dashes gets `--`).
    Cli(String),
    /// The merged configuration, when the layer that set a value is not known
    /// (for example [`Settings::validate`] after the caller applied its own overrides).
    Merged,
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Defaults => f.write_str("defaults"),
            Self::File(path) => write!(f, "config file {}", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Cli(flag) if flag.starts_with('-') => write!(f, "command-line flag {flag}"),
            Self::Cli(flag) => write!(f, "command-line flag --{flag}"),
            Self::Merged => f.write_str("the merged configuration"),
        }
    }
}

/// A configuration problem, naming the setting and the source that supplied it.
///
/// Displays as ``invalid setting `server.port` from environment variable
/// TINYBASE_SERVER_PORT: 'abc' is not a valid port number ...``. When no single setting is
/// at fault (an unreadable file, a TOML syntax error, an unknown variable) it displays as
/// `<source>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where the offending value came from.
    pub source_of: ConfigSource,
    /// Dotted key such as `server.port`; the variable name for an unknown environment
    /// variable; empty when the problem is not tied to one setting.
    pub key: String,
    /// What is wrong and, where possible, what was expected.
    pub message: String,
}

impl ConfigError {
    /// Builds an error; handy for callers reporting bad command-line flags.
    pub fn new(
        source_of: ConfigSource,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            source_of,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An unknown variable's key is its own name; repeating it reads badly.
        let key_is_source = matches!(&self.source_of, ConfigSource::Env(name) if *name == self.key);
        if self.key.is_empty() || key_is_source {
            write!(f, "{}: {}", self.source_of, self.message)
        } else {
            write!(
                f,
                "invalid setting `{}` from {}: {}",
                self.key, self.source_of, self.message
            )
        }
    }
}

/// Parses one environment value into the matching field; the error text is the reason.
type Apply = fn(&mut Settings, &str) -> Result<(), String>;

/// Every setting as `(dotted file key, environment variable)`, in documentation order.
pub fn reference() -> impl Iterator<Item = (&'static str, &'static str)> {
    SETTINGS.iter().map(|s| (s.key, s.env))
}

/// One setting: its dotted file key, its environment variable, and how to apply a value.
struct Setting {
    key: &'static str,
    env: &'static str,
    apply: Apply,
}

/// The single list of settings. File keys are checked against it to name the offending
/// key in errors, and environment variables are resolved through it.
static SETTINGS: &[Setting] = &[
    Setting {
        key: "server.host",
        env: "TINYBASE_SERVER_HOST",
        apply: |s, v| {
            s.server.host = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "server.port",
        env: "TINYBASE_SERVER_PORT",
        apply: |s, v| {
            s.server.port = parse_port(v)?;
            Ok(())
        },
    },
    Setting {
        key: "server.debug",
        env: "TINYBASE_DEBUG",
        apply: |s, v| {
            s.server.debug = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        key: "server.log_level",
        env: "TINYBASE_LOG_LEVEL",
        apply: |s, v| {
            s.server.log_level = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "server.body_limit_bytes",
        env: "TINYBASE_SERVER_BODY_LIMIT_BYTES",
        apply: |s, v| {
            s.server.body_limit_bytes = parse_uint(v, usize::MAX, "bytes")?;
            Ok(())
        },
    },
    Setting {
        key: "server.header_timeout_seconds",
        env: "TINYBASE_SERVER_HEADER_TIMEOUT_SECONDS",
        apply: |s, v| {
            s.server.header_timeout_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "server.body_timeout_seconds",
        env: "TINYBASE_SERVER_BODY_TIMEOUT_SECONDS",
        apply: |s, v| {
            s.server.body_timeout_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "server.keep_alive_timeout_seconds",
        env: "TINYBASE_SERVER_KEEP_ALIVE_TIMEOUT_SECONDS",
        apply: |s, v| {
            s.server.keep_alive_timeout_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "database.url",
        env: "TINYBASE_DB_URL",
        apply: |s, v| {
            s.database.url = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "auth.token_ttl_hours",
        env: "TINYBASE_AUTH_TOKEN_TTL_HOURS",
        apply: |s, v| {
            s.auth.token_ttl_hours = parse_uint(v, u32::MAX, "hours")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.login_limit_per_email",
        env: "TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL",
        apply: |s, v| {
            s.auth.login_limit_per_email = parse_uint(v, u32::MAX, "attempts per minute")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.login_limit_per_ip",
        env: "TINYBASE_AUTH_LOGIN_LIMIT_PER_IP",
        apply: |s, v| {
            s.auth.login_limit_per_ip = parse_uint(v, u32::MAX, "attempts per minute")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.registration",
        env: "TINYBASE_AUTH_REGISTRATION",
        apply: |s, v| {
            s.auth.registration = parse_registration(v)?;
            Ok(())
        },
    },
    Setting {
        key: "auth.registration_limit_per_ip",
        env: "TINYBASE_AUTH_REGISTRATION_LIMIT_PER_IP",
        apply: |s, v| {
            s.auth.registration_limit_per_ip = parse_uint(v, u32::MAX, "attempts per minute")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.require_verified_email",
        env: "TINYBASE_AUTH_REQUIRE_VERIFIED_EMAIL",
        apply: |s, v| {
            s.auth.require_verified_email = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        key: "auth.mail_limit_per_email",
        env: "TINYBASE_AUTH_MAIL_LIMIT_PER_EMAIL",
        apply: |s, v| {
            s.auth.mail_limit_per_email = parse_uint(v, u32::MAX, "requests per minute")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.mail_limit_per_ip",
        env: "TINYBASE_AUTH_MAIL_LIMIT_PER_IP",
        apply: |s, v| {
            s.auth.mail_limit_per_ip = parse_uint(v, u32::MAX, "requests per minute")?;
            Ok(())
        },
    },
    Setting {
        key: "auth.oauth2_redirect_urls",
        env: "TINYBASE_AUTH_OAUTH2_REDIRECT_URLS",
        apply: |s, v| {
            s.auth.oauth2_redirect_urls = parse_list(v);
            Ok(())
        },
    },
    Setting {
        key: "auth.oauth2",
        env: "TINYBASE_AUTH_OAUTH2",
        apply: |s, v| {
            // A list of tables does not fit one line of text: the environment gives JSON.
            s.auth.oauth2 = if v.trim().is_empty() {
                Vec::new()
            } else {
                serde_json::from_str(v).map_err(|err| {
                    format!(
                        "not a JSON array of providers ({err}); e.g. \
                         [{{\"name\":\"google\",\"issuer\":\"https://accounts.google.com\",\
                         \"client_id\":\"…\",\"client_secret\":\"…\"}}]"
                    )
                })?
            };
            Ok(())
        },
    },
    Setting {
        key: "functions.timeout_seconds",
        env: "TINYBASE_FUNCTIONS_TIMEOUT_SECONDS",
        apply: |s, v| {
            s.functions.timeout_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "functions.call_retention_days",
        env: "TINYBASE_FUNCTIONS_CALL_RETENTION_DAYS",
        apply: |s, v| {
            s.functions.call_retention_days = parse_uint(v, u32::MAX, "days")?;
            Ok(())
        },
    },
    Setting {
        key: "scheduler.enabled",
        env: "TINYBASE_SCHEDULER_ENABLED",
        apply: |s, v| {
            s.scheduler.enabled = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        key: "scheduler.interval_seconds",
        env: "TINYBASE_SCHEDULER_INTERVAL_SECONDS",
        apply: |s, v| {
            s.scheduler.interval_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "realtime.max_subscriptions",
        env: "TINYBASE_REALTIME_MAX_SUBSCRIPTIONS",
        apply: |s, v| {
            s.realtime.max_subscriptions = parse_uint(v, u32::MAX, "subscriptions")?;
            Ok(())
        },
    },
    Setting {
        key: "realtime.change_log_max_age_days",
        env: "TINYBASE_REALTIME_CHANGE_LOG_MAX_AGE_DAYS",
        apply: |s, v| {
            s.realtime.change_log_max_age_days = parse_uint(v, u32::MAX, "days")?;
            Ok(())
        },
    },
    Setting {
        key: "realtime.change_log_max_rows",
        env: "TINYBASE_REALTIME_CHANGE_LOG_MAX_ROWS",
        apply: |s, v| {
            s.realtime.change_log_max_rows = parse_uint(v, u64::MAX, "changes")?;
            Ok(())
        },
    },
    Setting {
        key: "webhooks.timeout_seconds",
        env: "TINYBASE_WEBHOOKS_TIMEOUT_SECONDS",
        apply: |s, v| {
            s.webhooks.timeout_seconds = parse_uint(v, u64::MAX, "seconds")?;
            Ok(())
        },
    },
    Setting {
        key: "webhooks.retry_initial_delay_ms",
        env: "TINYBASE_WEBHOOKS_RETRY_INITIAL_DELAY_MS",
        apply: |s, v| {
            s.webhooks.retry_initial_delay_ms = parse_uint(v, u64::MAX, "milliseconds")?;
            Ok(())
        },
    },
    Setting {
        key: "cors.allow_origins",
        env: "TINYBASE_CORS_ALLOW_ORIGINS",
        apply: |s, v| {
            s.cors.allow_origins = parse_list(v);
            Ok(())
        },
    },
    Setting {
        key: "admin.email",
        env: "TINYBASE_ADMIN_EMAIL",
        apply: |s, v| {
            s.admin.email = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "admin.password",
        env: "TINYBASE_ADMIN_PASSWORD",
        apply: |s, v| {
            s.admin.password = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "admin.static_dir",
        env: "TINYBASE_ADMIN_STATIC_DIR",
        apply: |s, v| {
            // "builtin" names the UI embedded in the binary, as no setting does.
            s.admin.static_dir = non_empty(v)
                .filter(|dir| *dir != BUILTIN_ADMIN_UI)
                .map(PathBuf::from);
            Ok(())
        },
    },
    Setting {
        key: "replication.url",
        env: "TINYBASE_REPLICATION_URL",
        apply: |s, v| {
            s.replication.url = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "replication.s3_endpoint",
        env: "TINYBASE_REPLICATION_S3_ENDPOINT",
        apply: |s, v| {
            s.replication.s3_endpoint = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "replication.s3_region",
        env: "TINYBASE_REPLICATION_S3_REGION",
        apply: |s, v| {
            s.replication.s3_region = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "replication.s3_access_key_id",
        env: "TINYBASE_REPLICATION_S3_ACCESS_KEY_ID",
        apply: |s, v| {
            s.replication.s3_access_key_id = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "replication.s3_secret_access_key",
        env: "TINYBASE_REPLICATION_S3_SECRET_ACCESS_KEY",
        apply: |s, v| {
            s.replication.s3_secret_access_key = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "replication.s3_path_style",
        env: "TINYBASE_REPLICATION_S3_PATH_STYLE",
        apply: |s, v| {
            s.replication.s3_path_style = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        key: "replication.sync_interval_ms",
        env: "TINYBASE_REPLICATION_SYNC_INTERVAL_MS",
        apply: |s, v| {
            s.replication.sync_interval_ms = parse_uint(v, u64::MAX, "milliseconds")?;
            Ok(())
        },
    },
    Setting {
        key: "replication.litestream_bin",
        env: "TINYBASE_REPLICATION_LITESTREAM_BIN",
        apply: |s, v| {
            s.replication.litestream_bin = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "replication.primary_url",
        env: "TINYBASE_REPLICATION_PRIMARY_URL",
        apply: |s, v| {
            s.replication.primary_url = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "storage.backend",
        env: "TINYBASE_STORAGE_BACKEND",
        apply: |s, v| {
            s.storage.backend = match v.trim().to_ascii_lowercase().as_str() {
                "local" => StorageBackend::Local,
                "s3" => StorageBackend::S3,
                _ => {
                    return Err(format!(
                        "'{v}' is not a storage backend (expected local or s3)"
                    ));
                }
            };
            Ok(())
        },
    },
    Setting {
        key: "storage.path",
        env: "TINYBASE_STORAGE_PATH",
        apply: |s, v| {
            s.storage.path = non_empty(v).map(PathBuf::from);
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_bucket",
        env: "TINYBASE_STORAGE_S3_BUCKET",
        apply: |s, v| {
            s.storage.s3_bucket = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_endpoint",
        env: "TINYBASE_STORAGE_S3_ENDPOINT",
        apply: |s, v| {
            s.storage.s3_endpoint = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_region",
        env: "TINYBASE_STORAGE_S3_REGION",
        apply: |s, v| {
            s.storage.s3_region = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_access_key_id",
        env: "TINYBASE_STORAGE_S3_ACCESS_KEY_ID",
        apply: |s, v| {
            s.storage.s3_access_key_id = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_secret_access_key",
        env: "TINYBASE_STORAGE_S3_SECRET_ACCESS_KEY",
        apply: |s, v| {
            s.storage.s3_secret_access_key = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "storage.s3_path_style",
        env: "TINYBASE_STORAGE_S3_PATH_STYLE",
        apply: |s, v| {
            s.storage.s3_path_style = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        key: "mail.smtp_host",
        env: "TINYBASE_MAIL_SMTP_HOST",
        apply: |s, v| {
            s.mail.smtp_host = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "mail.smtp_port",
        env: "TINYBASE_MAIL_SMTP_PORT",
        apply: |s, v| {
            s.mail.smtp_port = parse_port(v)?;
            Ok(())
        },
    },
    Setting {
        key: "mail.smtp_username",
        env: "TINYBASE_MAIL_SMTP_USERNAME",
        apply: |s, v| {
            s.mail.smtp_username = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "mail.smtp_password",
        env: "TINYBASE_MAIL_SMTP_PASSWORD",
        apply: |s, v| {
            s.mail.smtp_password = non_empty(v).map(str::to_owned);
            Ok(())
        },
    },
    Setting {
        key: "mail.smtp_tls",
        env: "TINYBASE_MAIL_SMTP_TLS",
        apply: |s, v| {
            s.mail.smtp_tls = parse_smtp_tls(v)?;
            Ok(())
        },
    },
    Setting {
        key: "mail.from",
        env: "TINYBASE_MAIL_FROM",
        apply: |s, v| {
            s.mail.from = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "mail.app_url",
        env: "TINYBASE_MAIL_APP_URL",
        apply: |s, v| {
            s.mail.app_url = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "mail.app_name",
        env: "TINYBASE_MAIL_APP_NAME",
        apply: |s, v| {
            s.mail.app_name = v.to_owned();
            Ok(())
        },
    },
    Setting {
        key: "mail.templates_dir",
        env: "TINYBASE_MAIL_TEMPLATES_DIR",
        apply: |s, v| {
            s.mail.templates_dir = non_empty(v).map(PathBuf::from);
            Ok(())
        },
    },
];

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "'{value}' is not a boolean (expected true/false, 1/0, yes/no or on/off)"
        )),
    }
}

fn parse_registration(value: &str) -> Result<Registration, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "open" => Ok(Registration::Open),
        "closed" => Ok(Registration::Closed),
        _ => Err(format!(
            "'{value}' is not a registration mode (expected open or closed)"
        )),
    }
}

fn parse_smtp_tls(value: &str) -> Result<SmtpTls, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(SmtpTls::None),
        "starttls" => Ok(SmtpTls::Starttls),
        "tls" => Ok(SmtpTls::Tls),
        _ => Err(format!(
            "'{value}' is not an SMTP security mode (expected none, starttls or tls)"
        )),
    }
}

fn parse_port(value: &str) -> Result<u16, String> {
    value.trim().parse().map_err(|_| {
        format!("'{value}' is not a valid port number (0-65535, where 0 picks a free port)")
    })
}

fn parse_uint<T: FromStr + fmt::Display>(value: &str, max: T, unit: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "'{value}' is not a valid number of {unit} (expected a whole number from 0 to {max})"
        )
    })
}

/// Comma-separated list; items are trimmed and empty items dropped, so a trailing comma
/// or an empty variable yields no spurious `""` entry.
fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// The `[section]` part of a dotted key.
fn section_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(section, _)| section)
}

fn setting_by_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Remembers which layer last set each key, so validation errors can point at it.
#[derive(Debug, Default)]
struct Provenance(BTreeMap<&'static str, ConfigSource>);

impl Provenance {
    fn record(&mut self, key: &'static str, source: ConfigSource) {
        self.0.insert(key, source);
    }

    /// Untracked keys still hold their default or were changed by the caller, so only
    /// "merged" is certain.
    fn source_of(&self, key: &str) -> ConfigSource {
        self.0.get(key).cloned().unwrap_or(ConfigSource::Merged)
    }
}

impl Settings {
    /// Loads defaults < file < process environment, then validates.
    ///
    /// `config_path`: `Some(p)` means `p` must exist (an error if it is missing); `None`
    /// means `./tinybase.toml` if it exists, else no file.
    pub fn load(config_path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            // A lossy name still starts with the prefix if it is meant for us, and then
            // fails as an unknown setting instead of being skipped silently.
            let name = name.to_string_lossy().into_owned();
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let Some(value) = value.to_str() else {
                let key = SETTINGS
                    .iter()
                    .find(|s| s.env == name)
                    .map_or(name.as_str(), |s| s.key)
                    .to_owned();
                return Err(ConfigError::new(
                    ConfigSource::Env(name),
                    key,
                    "the value is not valid UTF-8",
                ));
            };
            env.push((name, value.to_owned()));
        }
        // "." rather than current_dir(): resolves identically and cannot fail.
        Self::load_with(config_path, Path::new("."), env)
    }

    /// Same as [`Settings::load`], but with an explicit environment (for tests) and an
    /// explicit working directory for the default file. A relative `config_path` is also
    /// resolved against `cwd`.
    pub fn load_with(
        config_path: Option<&Path>,
        cwd: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut provenance = Provenance::default();
        let mut settings = match config_path {
            Some(path) => {
                let path = cwd.join(path);
                let text = fs::read_to_string(&path).map_err(|err| read_error(&path, &err))?;
                Self::parse_file(&text, &path, &mut provenance)?
            }
            None => {
                let path = cwd.join(DEFAULT_CONFIG_FILE);
                match fs::read_to_string(&path) {
                    Ok(text) => Self::parse_file(&text, &path, &mut provenance)?,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => Settings::default(),
                    Err(err) => return Err(read_error(&path, &err)),
                }
            }
        };
        settings.apply_env_tracked(env, &mut provenance)?;
        settings.check(&provenance)?;
        Ok(settings)
    }

    /// Parses a TOML document (unknown keys rejected) on top of defaults. Does not
    /// validate; `origin` is only used in error messages.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Settings, ConfigError> {
        Self::parse_file(text, origin, &mut Provenance::default())
    }

    /// Applies `TINYBASE_*` variables on top of `self`; other variables are ignored.
    ///
    /// Variables are applied in name order so the reported error is deterministic. On
    /// error `self` is left unchanged.
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        self.apply_env_tracked(env, &mut Provenance::default())
    }

    /// Semantic checks on the merged settings. Errors name the dotted key
    /// (`auth.token_ttl_hours`); the source is [`ConfigSource::Merged`] because the layer
    /// that set the value is unknown here ([`Settings::load`] reports the actual layer).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check(&Provenance::default())
    }

    fn parse_file(
        text: &str,
        origin: &Path,
        provenance: &mut Provenance,
    ) -> Result<Settings, ConfigError> {
        let source = ConfigSource::File(origin.to_path_buf());
        match toml::from_str::<Settings>(text) {
            Ok(settings) => {
                // Reparsing as a plain table is the simplest way to learn which keys the
                // file actually contains; config files are tiny.
                if let Ok(table) = toml::from_str::<toml::Table>(text) {
                    for (section, entries) in &table {
                        let toml::Value::Table(entries) = entries else {
                            continue;
                        };
                        for key in entries.keys() {
                            if let Some(setting) = setting_by_key(&format!("{section}.{key}")) {
                                provenance.record(setting.key, source.clone());
                            }
                        }
                    }
                }
                Ok(settings)
            }
            Err(err) => {
                // The toml message carries line, column and a snippet; we add the dotted key.
                let (key, hint) = locate_file_error(text);
                let mut message = err.to_string().trim_end().to_owned();
                if let Some(hint) = hint {
                    message.push_str(&format!("\ndid you mean `{hint}`?"));
                }
                Err(ConfigError::new(source, key, message))
            }
        }
    }

    fn apply_env_tracked(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
        provenance: &mut Provenance,
    ) -> Result<(), ConfigError> {
        let vars: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_FILE_ENV)
            .collect();
        // Work on a copy so a bad variable leaves `self` untouched.
        let mut updated = self.clone();
        let mut applied = Vec::new();
        for (name, value) in vars {
            let Some(setting) = SETTINGS.iter().find(|s| s.env == name) else {
                return Err(unknown_env_error(name));
            };
            (setting.apply)(&mut updated, &value).map_err(|message| {
                ConfigError::new(ConfigSource::Env(name.clone()), setting.key, message)
            })?;
            applied.push((setting.key, ConfigSource::Env(name)));
        }
        *self = updated;
        for (key, source) in applied {
            provenance.record(key, source);
        }
        Ok(())
    }

    fn check(&self, provenance: &Provenance) -> Result<(), ConfigError> {
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
            if let Err(message) = check_provider(provider) {
                return fail("auth.oauth2", message);
            }
            if !names.insert(provider.name.as_str()) {
                return fail(
                    "auth.oauth2",
                    format!("two providers are named '{}'", provider.name),
                );
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

fn check_provider(provider: &OAuth2Provider) -> Result<(), String> {
    let name = &provider.name;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "provider name '{name}' must be 1 to 64 lower-case letters, digits, - or _"
        ));
    }
    let Some(issuer) = &provider.issuer else {
        return Err(format!(
            "provider '{name}' has no issuer (the OpenID Connect issuer URL, e.g. \
             https://accounts.google.com)"
        ));
    };
    check_http_url(issuer).map_err(|message| format!("provider '{name}': {message}"))?;
    if provider.client_id.trim().is_empty() {
        return Err(format!("provider '{name}' has no client_id"));
    }
    Ok(())
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

fn read_error(path: &Path, err: &io::Error) -> ConfigError {
    let message = if err.kind() == io::ErrorKind::NotFound {
        "the file does not exist".to_owned()
    } else {
        format!("cannot read the file: {err}")
    };
    ConfigError::new(ConfigSource::File(path.to_path_buf()), "", message)
}

fn unknown_env_error(name: String) -> ConfigError {
    let known: Vec<&str> = SETTINGS.iter().map(|s| s.env).collect();
    let mut message = format!("unknown setting {name} (environment)");
    if let Some(hint) = closest(&name, known.iter().copied()) {
        message.push_str(&format!("; did you mean {hint}?"));
    }
    message.push_str(&format!("\nknown variables: {}", known.join(", ")));
    ConfigError::new(ConfigSource::Env(name.clone()), name, message)
}

/// Finds which key of a rejected file is at fault: the first unknown section or key, or
/// the first key whose value alone fails to deserialize. Returns an empty key for syntax
/// errors, plus a spelling suggestion for unknown names.
fn locate_file_error(text: &str) -> (String, Option<&'static str>) {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return (String::new(), None);
    };
    let sections: BTreeSet<&'static str> = SETTINGS.iter().map(|s| section_of(s.key)).collect();
    for (section, entries) in &table {
        if !sections.contains(section.as_str()) {
            return (section.clone(), closest(section, sections.iter().copied()));
        }
        let toml::Value::Table(entries) = entries else {
            return (section.clone(), None);
        };
        for (key, value) in entries {
            let dotted = format!("{section}.{key}");
            if setting_by_key(&dotted).is_none() {
                let hint = closest(&dotted, SETTINGS.iter().map(|s| s.key));
                return (dotted, hint);
            }
            let mut inner = toml::Table::new();
            inner.insert(key.clone(), value.clone());
            let mut outer = toml::Table::new();
            outer.insert(section.clone(), toml::Value::Table(inner));
            if outer.try_into::<Settings>().is_err() {
                return (dotted, None);
            }
        }
    }
    (String::new(), None)
}

/// The candidate most similar to a misspelled `name`, if it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let threshold = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= threshold)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance counting a swap of adjacent characters as one edit, since swaps
/// (`prot` for `port`) are the most common typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../templates/tinybase.toml");

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn env_err(name: &str, value: &str) -> ConfigError {
        Settings::default()
            .apply_env(env(&[(name, value)]))
            .expect_err("value should be rejected")
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join(DEFAULT_CONFIG_FILE);
        fs::write(&path, text).unwrap();
        path
    }

    fn path_of(url: &str) -> Result<PathBuf, ConfigError> {
        DatabaseSettings {
            url: url.to_owned(),
        }
        .path()
    }

    /// Template lines of the form `# key = value`, with the section they belong to.
    fn template_keys() -> Vec<String> {
        let mut section = String::new();
        let mut keys = Vec::new();
        for line in TEMPLATE.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_owned();
            } else if let Some(rest) = line.strip_prefix("# ") {
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !ident.is_empty() && rest[ident.len()..].trim_start().starts_with('=') {
                    keys.push(format!("{section}.{ident}"));
                }
            }
        }
        keys
    }

    #[test]
    fn defaults_match_documented_values() {
        let s = Settings::default();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8000);
        assert!(!s.server.debug);
        assert_eq!(s.server.log_level, "info");
        assert_eq!(s.server.body_limit_bytes, 10 * 1024 * 1024);
        assert_eq!(s.server.header_timeout_seconds, 10);
        assert_eq!(s.server.body_timeout_seconds, 30);
        assert_eq!(s.server.keep_alive_timeout_seconds, 30);
        assert_eq!(s.database.url, "sqlite:///./tinybase.db");
        assert_eq!(s.database.path().unwrap(), PathBuf::from("./tinybase.db"));
        assert_eq!(s.auth.token_ttl_hours, 24);
        assert_eq!(s.auth.login_limit_per_email, 10);
        assert_eq!(s.auth.login_limit_per_ip, 100);
        assert_eq!(s.auth.registration, Registration::Open);
        assert_eq!(s.auth.registration_limit_per_ip, 20);
        assert!(!s.auth.require_verified_email);
        assert_eq!(s.auth.mail_limit_per_email, 5);
        assert_eq!(s.auth.mail_limit_per_ip, 50);
        assert!(s.auth.oauth2_redirect_urls.is_empty());
        assert!(s.auth.oauth2.is_empty());
        assert_eq!(s.mail.smtp_host, None);
        assert_eq!(s.mail.smtp_port, 587);
        assert_eq!(s.mail.smtp_tls, SmtpTls::Starttls);
        assert_eq!(s.mail.app_url, "http://127.0.0.1:8000");
        assert_eq!(s.functions.timeout_seconds, 0);
        assert!(s.scheduler.enabled);
        assert_eq!(s.scheduler.interval_seconds, 5);
        assert!(s.cors.allow_origins.is_empty());
        assert_eq!(s.admin, AdminSettings::default());
        assert_eq!(s.admin.email, None);
        assert_eq!(s.admin.password, None);
        assert_eq!(s.admin.static_dir, None);
        s.validate().unwrap();
    }

    #[test]
    fn empty_document_gives_defaults() {
        let s = Settings::from_toml_str("", Path::new("x.toml")).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn default_file_absent_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_with(None, dir.path(), Vec::new()).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn default_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        write_config(
            dir.path(),
            "[server]\nport = 9000\ndebug = true\n\n[cors]\nallow_origins = [\"https://a.example\"]\n\n[admin]\nemail = \"root@example.com\"\n",
        );
        let s = Settings::load_with(None, dir.path(), Vec::new()).unwrap();
        assert_eq!(s.server.port, 9000);
        assert!(s.server.debug);
        assert_eq!(s.cors.allow_origins, vec!["https://a.example".to_owned()]);
        assert_eq!(s.admin.email.as_deref(), Some("root@example.com"));
        // Untouched keys keep their defaults.
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.auth, AuthSettings::default());
    }

    #[test]
    fn explicit_file_is_used_and_relative_path_resolves_against_cwd() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("custom.toml"),
            "[auth]\ntoken_ttl_hours = 48\n",
        )
        .unwrap();
        let s =
            Settings::load_with(Some(Path::new("custom.toml")), dir.path(), Vec::new()).unwrap();
        assert_eq!(s.auth.token_ttl_hours, 48);

        let absolute = dir.path().join("custom.toml");
        let s =
            Settings::load_with(Some(&absolute), Path::new("/nonexistent"), Vec::new()).unwrap();
        assert_eq!(s.auth.token_ttl_hours, 48);
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let err = Settings::load_with(Some(&missing), dir.path(), Vec::new()).unwrap_err();
        assert_eq!(err.source_of, ConfigSource::File(missing.clone()));
        assert_eq!(err.key, "");
        let shown = err.to_string();
        assert!(shown.contains(&missing.display().to_string()), "{shown}");
        assert!(shown.contains("does not exist"), "{shown}");
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        write_config(
            dir.path(),
            "[server]\nhost = \"0.0.0.0\"\nport = 9000\n[scheduler]\nenabled = true\n",
        );
        let s = Settings::load_with(
            None,
            dir.path(),
            env(&[
                ("TINYBASE_SERVER_PORT", "9100"),
                ("TINYBASE_SCHEDULER_ENABLED", "off"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9100);
        assert!(!s.scheduler.enabled);
        assert_eq!(s.server.host, "0.0.0.0");
    }

    #[test]
    fn every_env_variable_sets_its_field() {
        let mut s = Settings::default();
        s.apply_env(env(&[
            ("TINYBASE_SERVER_HOST", "0.0.0.0"),
            ("TINYBASE_SERVER_PORT", "0"),
            ("TINYBASE_DEBUG", "YES"),
            ("TINYBASE_LOG_LEVEL", "debug"),
            ("TINYBASE_SERVER_BODY_LIMIT_BYTES", "2048"),
            ("TINYBASE_SERVER_HEADER_TIMEOUT_SECONDS", "3"),
            ("TINYBASE_SERVER_BODY_TIMEOUT_SECONDS", "0"),
            ("TINYBASE_SERVER_KEEP_ALIVE_TIMEOUT_SECONDS", "120"),
            ("TINYBASE_DB_URL", "data/app.db"),
            ("TINYBASE_AUTH_TOKEN_TTL_HOURS", "2"),
            ("TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL", "0"),
            ("TINYBASE_AUTH_LOGIN_LIMIT_PER_IP", " 7 "),
            ("TINYBASE_AUTH_REGISTRATION", " Closed"),
            ("TINYBASE_AUTH_REGISTRATION_LIMIT_PER_IP", "0"),
            ("TINYBASE_FUNCTIONS_TIMEOUT_SECONDS", "30"),
            ("TINYBASE_FUNCTIONS_CALL_RETENTION_DAYS", "7"),
            ("TINYBASE_SCHEDULER_ENABLED", "0"),
            ("TINYBASE_SCHEDULER_INTERVAL_SECONDS", "60"),
            ("TINYBASE_REALTIME_MAX_SUBSCRIPTIONS", "5"),
            ("TINYBASE_REALTIME_CHANGE_LOG_MAX_AGE_DAYS", "0"),
            ("TINYBASE_REALTIME_CHANGE_LOG_MAX_ROWS", "1000"),
            ("TINYBASE_CORS_ALLOW_ORIGINS", "*"),
            ("TINYBASE_ADMIN_EMAIL", "a@b.c"),
            ("TINYBASE_ADMIN_PASSWORD", "s3cret pass"),
            ("TINYBASE_ADMIN_STATIC_DIR", "/srv/admin"),
            ("TINYBASE_REPLICATION_URL", "s3://backups/prod/app"),
            ("TINYBASE_REPLICATION_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("TINYBASE_REPLICATION_S3_REGION", "eu-west-1"),
            ("TINYBASE_REPLICATION_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("TINYBASE_REPLICATION_S3_SECRET_ACCESS_KEY", "very secret"),
            ("TINYBASE_REPLICATION_S3_PATH_STYLE", "yes"),
            ("TINYBASE_REPLICATION_SYNC_INTERVAL_MS", "250"),
            ("TINYBASE_REPLICATION_LITESTREAM_BIN", "/opt/litestream"),
            ("TINYBASE_REPLICATION_PRIMARY_URL", "http://10.0.0.1:8000"),
            ("TINYBASE_STORAGE_BACKEND", "S3"),
            ("TINYBASE_STORAGE_PATH", "files"),
            ("TINYBASE_STORAGE_S3_BUCKET", "uploads"),
            ("TINYBASE_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("TINYBASE_STORAGE_S3_REGION", "eu-west-1"),
            ("TINYBASE_STORAGE_S3_ACCESS_KEY_ID", "key"),
            ("TINYBASE_STORAGE_S3_SECRET_ACCESS_KEY", "secret"),
            ("TINYBASE_STORAGE_S3_PATH_STYLE", "true"),
            ("TINYBASE_AUTH_REQUIRE_VERIFIED_EMAIL", "true"),
            ("TINYBASE_AUTH_MAIL_LIMIT_PER_EMAIL", "2"),
            ("TINYBASE_AUTH_MAIL_LIMIT_PER_IP", "0"),
            (
                "TINYBASE_AUTH_OAUTH2_REDIRECT_URLS",
                "https://app.example.com/done, http://localhost:5173/",
            ),
            (
                "TINYBASE_AUTH_OAUTH2",
                r#"[{"name": "corp", "issuer": "https://id.example.com", "client_id": "tb",
                    "client_secret": "shh", "scopes": ["email"]}]"#,
            ),
            ("TINYBASE_MAIL_SMTP_HOST", "smtp.example.com"),
            ("TINYBASE_MAIL_SMTP_PORT", "2525"),
            ("TINYBASE_MAIL_SMTP_USERNAME", "mailer"),
            ("TINYBASE_MAIL_SMTP_PASSWORD", "mail pass"),
            ("TINYBASE_MAIL_SMTP_TLS", "TLS"),
            ("TINYBASE_MAIL_FROM", "App <app@example.com>"),
            ("TINYBASE_MAIL_APP_URL", "https://app.example.com"),
            ("TINYBASE_MAIL_APP_NAME", "My App"),
            ("TINYBASE_MAIL_TEMPLATES_DIR", "/srv/mail"),
            ("TINYBASE_WEBHOOKS_TIMEOUT_SECONDS", "3"),
            ("TINYBASE_WEBHOOKS_RETRY_INITIAL_DELAY_MS", "250"),
        ]))
        .unwrap();
        let expected = Settings {
            server: ServerSettings {
                host: "0.0.0.0".to_owned(),
                port: 0,
                debug: true,
                log_level: "debug".to_owned(),
                body_limit_bytes: 2048,
                header_timeout_seconds: 3,
                body_timeout_seconds: 0,
                keep_alive_timeout_seconds: 120,
            },
            database: DatabaseSettings {
                url: "data/app.db".to_owned(),
            },
            auth: AuthSettings {
                token_ttl_hours: 2,
                login_limit_per_email: 0,
                login_limit_per_ip: 7,
                registration: Registration::Closed,
                registration_limit_per_ip: 0,
                require_verified_email: true,
                mail_limit_per_email: 2,
                mail_limit_per_ip: 0,
                oauth2_redirect_urls: vec![
                    "https://app.example.com/done".to_owned(),
                    "http://localhost:5173/".to_owned(),
                ],
                oauth2: vec![OAuth2Provider {
                    name: "corp".to_owned(),
                    display_name: None,
                    issuer: Some("https://id.example.com".to_owned()),
                    client_id: "tb".to_owned(),
                    client_secret: Some("shh".to_owned()),
                    scopes: vec!["email".to_owned()],
                }],
            },
            functions: FunctionSettings {
                timeout_seconds: 30,
                call_retention_days: 7,
            },
            scheduler: SchedulerSettings {
                enabled: false,
                interval_seconds: 60,
            },
            realtime: RealtimeSettings {
                max_subscriptions: 5,
                change_log_max_age_days: 0,
                change_log_max_rows: 1000,
            },
            cors: CorsSettings {
                allow_origins: vec!["*".to_owned()],
            },
            admin: AdminSettings {
                email: Some("a@b.c".to_owned()),
                password: Some("s3cret pass".to_owned()),
                static_dir: Some(PathBuf::from("/srv/admin")),
            },
            replication: ReplicationSettings {
                url: Some("s3://backups/prod/app".to_owned()),
                s3_endpoint: Some("http://127.0.0.1:9000".to_owned()),
                s3_region: Some("eu-west-1".to_owned()),
                s3_access_key_id: Some("AKIDEXAMPLE".to_owned()),
                s3_secret_access_key: Some("very secret".to_owned()),
                s3_path_style: true,
                sync_interval_ms: 250,
                litestream_bin: "/opt/litestream".to_owned(),
                primary_url: Some("http://10.0.0.1:8000".to_owned()),
            },
            storage: StorageSettings {
                backend: StorageBackend::S3,
                path: Some(PathBuf::from("files")),
                s3_bucket: Some("uploads".to_owned()),
                s3_endpoint: Some("http://127.0.0.1:9000".to_owned()),
                s3_region: "eu-west-1".to_owned(),
                s3_access_key_id: Some("key".to_owned()),
                s3_secret_access_key: Some("secret".to_owned()),
                s3_path_style: true,
            },
            mail: MailSettings {
                smtp_host: Some("smtp.example.com".to_owned()),
                smtp_port: 2525,
                smtp_username: Some("mailer".to_owned()),
                smtp_password: Some("mail pass".to_owned()),
                smtp_tls: SmtpTls::Tls,
                from: "App <app@example.com>".to_owned(),
                app_url: "https://app.example.com".to_owned(),
                app_name: "My App".to_owned(),
                templates_dir: Some(PathBuf::from("/srv/mail")),
            },
            webhooks: WebhookSettings {
                timeout_seconds: 3,
                retry_initial_delay_ms: 250,
            },
        };
        assert_eq!(s, expected);
        s.validate().unwrap();
        assert!(
            !format!("{s:?}").contains("very secret"),
            "the secret key stays out of logs"
        );
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
    fn unknown_key_in_file_names_key_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), "[server]\nhost = \"h\"\nprot = 9000\n");
        let err = Settings::load_with(None, dir.path(), Vec::new()).unwrap_err();
        assert_eq!(err.key, "server.prot");
        assert_eq!(err.source_of, ConfigSource::File(path.clone()));
        let shown = err.to_string();
        assert!(shown.contains("`server.prot`"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(shown.contains("unknown field `prot`"), "{shown}");
        assert!(shown.contains("line 3"), "{shown}");
        assert!(shown.contains("did you mean `server.port`?"), "{shown}");
    }

    #[test]
    fn unknown_section_in_file_is_rejected() {
        let err =
            Settings::from_toml_str("[servr]\nport = 1\n", Path::new("/etc/tb.toml")).unwrap_err();
        assert_eq!(err.key, "servr");
        assert!(
            err.message.contains("did you mean `server`?"),
            "{}",
            err.message
        );
        assert!(err.to_string().contains("/etc/tb.toml"));

        let err = Settings::from_toml_str("verbose = true\n", Path::new("t.toml")).unwrap_err();
        assert_eq!(err.key, "verbose");
    }

    #[test]
    fn wrong_type_in_file_names_key_and_keeps_toml_message() {
        let origin = Path::new("/srv/tinybase.toml");
        let err = Settings::from_toml_str("[server]\nport = \"abc\"\n", origin).unwrap_err();
        assert_eq!(err.key, "server.port");
        assert_eq!(err.source_of, ConfigSource::File(origin.to_path_buf()));
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(err.message.contains("invalid type"), "{}", err.message);
        assert!(
            err.to_string()
                .starts_with("invalid setting `server.port` from config file /srv/tinybase.toml: ")
        );

        let err = Settings::from_toml_str("[server]\nport = 70000\n", origin).unwrap_err();
        assert_eq!(err.key, "server.port");

        let err = Settings::from_toml_str("[auth]\ntoken_ttl_hours = -1\n", origin).unwrap_err();
        assert_eq!(err.key, "auth.token_ttl_hours");

        let err = Settings::from_toml_str("server = 5\n", origin).unwrap_err();
        assert_eq!(err.key, "server");

        let err = Settings::from_toml_str("[cors]\nallow_origins = \"https://a.b\"\n", origin)
            .unwrap_err();
        assert_eq!(err.key, "cors.allow_origins");
    }

    #[test]
    fn toml_syntax_error_reports_file_and_position() {
        let err =
            Settings::from_toml_str("[server\nport = 1\n", Path::new("/x/t.toml")).unwrap_err();
        assert_eq!(err.key, "");
        let shown = err.to_string();
        assert!(
            shown.starts_with("config file /x/t.toml: TOML parse error at line 1"),
            "{shown}"
        );
    }

    #[test]
    fn empty_strings_in_file_mean_unset_for_admin() {
        let s = Settings::from_toml_str(
            "[admin]\nemail = \"\"\npassword = \"\"\nstatic_dir = \"\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(s.admin, AdminSettings::default());

        let s = Settings::from_toml_str("[admin]\nstatic_dir = \"ui/dist\"\n", Path::new("t.toml"))
            .unwrap();
        assert_eq!(s.admin.static_dir, Some(PathBuf::from("ui/dist")));

        // "builtin" means the embedded UI, not a folder of that name.
        let s = Settings::from_toml_str("[admin]\nstatic_dir = \"builtin\"\n", Path::new("t.toml"))
            .unwrap();
        assert_eq!(s.admin.static_dir, None);
    }

    #[test]
    fn empty_env_value_clears_option_fields() {
        let mut s = Settings::default();
        s.admin.email = Some("old@example.com".to_owned());
        s.admin.password = Some("old".to_owned());
        s.admin.static_dir = Some(PathBuf::from("old"));
        s.apply_env(env(&[
            ("TINYBASE_ADMIN_EMAIL", ""),
            ("TINYBASE_ADMIN_PASSWORD", ""),
            ("TINYBASE_ADMIN_STATIC_DIR", ""),
        ]))
        .unwrap();
        assert_eq!(s.admin, AdminSettings::default());
    }

    #[test]
    fn unknown_tinybase_variable_is_rejected() {
        let err = env_err("TINYBASE_SERVR_PORT", "8000");
        assert_eq!(
            err.source_of,
            ConfigSource::Env("TINYBASE_SERVR_PORT".to_owned())
        );
        assert_eq!(err.key, "TINYBASE_SERVR_PORT");
        let shown = err.to_string();
        assert!(
            shown.starts_with(
                "environment variable TINYBASE_SERVR_PORT: unknown setting TINYBASE_SERVR_PORT (environment); did you mean TINYBASE_SERVER_PORT?"
            ),
            "{shown}"
        );
        assert!(shown.contains("TINYBASE_ADMIN_STATIC_DIR"), "{shown}");

        // Far from every known name: no suggestion, still an error.
        let err = env_err("TINYBASE_SOMETHING_ELSE", "1");
        assert!(!err.message.contains("did you mean"), "{}", err.message);
    }

    #[test]
    fn unrelated_and_reserved_variables_are_ignored() {
        let mut s = Settings::default();
        s.apply_env(env(&[
            ("HOME", "/root"),
            ("tinybase_server_port", "1"),
            ("XTINYBASE_SERVER_PORT", "1"),
            (CONFIG_FILE_ENV, "/etc/tinybase.toml"),
        ]))
        .unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn bad_env_values_name_variable_and_value() {
        let err = env_err("TINYBASE_SERVER_PORT", "abc");
        assert_eq!(
            err.source_of,
            ConfigSource::Env("TINYBASE_SERVER_PORT".to_owned())
        );
        assert_eq!(err.key, "server.port");
        assert_eq!(
            err.to_string(),
            "invalid setting `server.port` from environment variable TINYBASE_SERVER_PORT: \
             'abc' is not a valid port number (0-65535, where 0 picks a free port)"
        );

        let err = env_err("TINYBASE_SERVER_PORT", "70000");
        assert!(
            err.message.contains("'70000' is not a valid port number"),
            "{}",
            err.message
        );

        let err = env_err("TINYBASE_DEBUG", "maybe");
        assert_eq!(err.key, "server.debug");
        assert_eq!(
            err.source_of,
            ConfigSource::Env("TINYBASE_DEBUG".to_owned())
        );
        assert!(err.to_string().contains("TINYBASE_DEBUG"));
        assert!(
            err.message.contains("'maybe' is not a boolean"),
            "{}",
            err.message
        );

        let err = env_err("TINYBASE_AUTH_TOKEN_TTL_HOURS", "-3");
        assert_eq!(err.key, "auth.token_ttl_hours");
        assert!(
            err.message.contains("'-3' is not a valid number of hours"),
            "{}",
            err.message
        );

        let err = env_err("TINYBASE_FUNCTIONS_TIMEOUT_SECONDS", "1.5");
        assert_eq!(err.key, "functions.timeout_seconds");

        let err = env_err("TINYBASE_AUTH_REGISTRATION", "invite-only");
        assert_eq!(err.key, "auth.registration");
        assert!(
            err.message
                .contains("'invite-only' is not a registration mode (expected open or closed)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn registration_mode_in_file() {
        let origin = Path::new("t.toml");
        let s = Settings::from_toml_str("[auth]\nregistration = \"closed\"\n", origin).unwrap();
        assert_eq!(s.auth.registration, Registration::Closed);
        let err =
            Settings::from_toml_str("[auth]\nregistration = \"Closed\"\n", origin).unwrap_err();
        assert_eq!(err.key, "auth.registration");
        let err = Settings::from_toml_str("[auth]\nregistration = true\n", origin).unwrap_err();
        assert_eq!(err.key, "auth.registration");
    }

    #[test]
    fn failed_apply_env_leaves_settings_unchanged() {
        let mut s = Settings::default();
        let err = s
            .apply_env(env(&[
                ("TINYBASE_AUTH_TOKEN_TTL_HOURS", "5"),
                ("TINYBASE_SERVER_PORT", "nope"),
            ]))
            .unwrap_err();
        assert_eq!(err.key, "server.port");
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn booleans_accept_common_spellings() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("0", false),
            ("No", false),
            ("OFF", false),
        ] {
            assert_eq!(parse_bool(text), Ok(expected), "{text}");
        }
        assert!(parse_bool("").is_err());
        assert!(parse_bool("2").is_err());
    }

    #[test]
    fn cors_env_list_is_split_trimmed_and_compacted() {
        let mut s = Settings::default();
        s.apply_env(env(&[(
            "TINYBASE_CORS_ALLOW_ORIGINS",
            " https://a.example , ,http://b.example:3000,, ",
        )]))
        .unwrap();
        assert_eq!(
            s.cors.allow_origins,
            vec![
                "https://a.example".to_owned(),
                "http://b.example:3000".to_owned()
            ]
        );

        s.apply_env(env(&[("TINYBASE_CORS_ALLOW_ORIGINS", "")]))
            .unwrap();
        assert!(s.cors.allow_origins.is_empty());
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

    #[test]
    fn load_names_the_layer_that_set_an_invalid_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), "[server]\nlog_level = \"loud\"\n");
        let err = Settings::load_with(None, dir.path(), Vec::new()).unwrap_err();
        assert_eq!(err.key, "server.log_level");
        assert_eq!(err.source_of, ConfigSource::File(path.clone()));
        assert!(err.to_string().contains(&path.display().to_string()));

        // The environment fixes the file's value but introduces its own mistake.
        let err = Settings::load_with(
            None,
            dir.path(),
            env(&[
                ("TINYBASE_LOG_LEVEL", "warn"),
                ("TINYBASE_AUTH_TOKEN_TTL_HOURS", "0"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.key, "auth.token_ttl_hours");
        assert_eq!(
            err.source_of,
            ConfigSource::Env("TINYBASE_AUTH_TOKEN_TTL_HOURS".to_owned())
        );
        assert!(
            err.to_string()
                .starts_with("invalid setting `auth.token_ttl_hours` from environment variable TINYBASE_AUTH_TOKEN_TTL_HOURS: ")
        );
    }

    #[test]
    fn load_reports_env_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Settings::load_with(None, dir.path(), env(&[("TINYBASE_DB_URL", ":memory:")]))
            .unwrap_err();
        assert_eq!(err.key, "database.url");
        assert_eq!(
            err.source_of,
            ConfigSource::Env("TINYBASE_DB_URL".to_owned())
        );
    }

    #[test]
    fn source_and_error_display() {
        assert_eq!(ConfigSource::Defaults.to_string(), "defaults");
        assert_eq!(
            ConfigSource::File(PathBuf::from("/x/tinybase.toml")).to_string(),
            "config file /x/tinybase.toml"
        );
        assert_eq!(
            ConfigSource::Env("TINYBASE_X".to_owned()).to_string(),
            "environment variable TINYBASE_X"
        );
        assert_eq!(
            ConfigSource::Cli("--port".to_owned()).to_string(),
            "command-line flag --port"
        );
        assert_eq!(
            ConfigSource::Cli("port".to_owned()).to_string(),
            "command-line flag --port"
        );
        assert_eq!(
            ConfigError::new(ConfigSource::Cli("--port".to_owned()), "server.port", "bad")
                .to_string(),
            "invalid setting `server.port` from command-line flag --port: bad"
        );
    }

    #[test]
    fn debug_output_redacts_the_admin_password() {
        let mut s = Settings::default();
        s.admin.password = Some("hunter2".to_owned());
        s.mail.smtp_password = Some("smtp-secret".to_owned());
        s.auth.oauth2.push(OAuth2Provider {
            name: "corp".to_owned(),
            client_secret: Some("client-secret".to_owned()),
            ..OAuth2Provider::default()
        });
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("smtp-secret"), "{shown}");
        assert!(!shown.contains("client-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn settings_table_matches_the_struct() {
        let mut envs = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for s in SETTINGS {
            assert!(s.env.starts_with(ENV_PREFIX), "{}", s.env);
            assert!(envs.insert(s.env), "duplicate variable {}", s.env);
            assert!(keys.insert(s.key), "duplicate key {}", s.key);
        }
        assert!(!envs.contains(CONFIG_FILE_ENV));

        // Serialize a fully populated value so every field, options included, shows up.
        let mut full = Settings::default();
        full.admin.email = Some("a@b.c".to_owned());
        full.admin.password = Some("p".to_owned());
        full.admin.static_dir = Some(PathBuf::from("d"));
        full.replication.url = Some("s3://b/p".to_owned());
        full.replication.s3_endpoint = Some("http://e".to_owned());
        full.replication.s3_region = Some("r".to_owned());
        full.replication.s3_access_key_id = Some("i".to_owned());
        full.replication.s3_secret_access_key = Some("s".to_owned());
        full.storage.path = Some(PathBuf::from("files"));
        full.storage.s3_bucket = Some("b".to_owned());
        full.storage.s3_endpoint = Some("http://127.0.0.1:9000".to_owned());
        full.storage.s3_access_key_id = Some("k".to_owned());
        full.storage.s3_secret_access_key = Some("s".to_owned());
        full.mail.smtp_host = Some("h".to_owned());
        full.mail.smtp_username = Some("u".to_owned());
        full.mail.smtp_password = Some("p".to_owned());
        full.mail.templates_dir = Some(PathBuf::from("t"));
        full.replication.primary_url = Some("http://p:1".to_owned());
        let toml::Value::Table(table) = toml::Value::try_from(&full).unwrap() else {
            panic!("settings should serialize to a table");
        };
        let mut fields = BTreeSet::new();
        for (section, entries) in &table {
            let toml::Value::Table(entries) = entries else {
                panic!("{section} should be a table");
            };
            for key in entries.keys() {
                fields.insert(format!("{section}.{key}"));
            }
        }
        let keys: BTreeSet<String> = keys.into_iter().map(str::to_owned).collect();
        assert_eq!(keys, fields);
    }

    #[test]
    fn template_as_shipped_gives_defaults() {
        let s = Settings::from_toml_str(TEMPLATE, Path::new("templates/tinybase.toml")).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn template_with_every_key_uncommented_parses_to_defaults() {
        let keys = template_keys();
        let expected: Vec<String> = SETTINGS.iter().map(|s| s.key.to_owned()).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        let mut sorted_expected = expected.clone();
        sorted_expected.sort();
        assert_eq!(
            sorted_keys, sorted_expected,
            "template must list every key exactly once"
        );

        let uncommented: String = TEMPLATE
            .lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or("");
                let is_key = rest.split_once('=').is_some_and(|(name, _)| {
                    let name = name.trim();
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
                if is_key { rest } else { line }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(uncommented, TEMPLATE);
        let s = Settings::from_toml_str(&uncommented, Path::new("uncommented.toml")).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn template_mentions_every_env_variable_on_its_key_line() {
        for setting in SETTINGS {
            assert!(
                TEMPLATE.contains(setting.env),
                "template lacks {}",
                setting.env
            );
            let field = setting.key.split_once('.').map_or(setting.key, |(_, f)| f);
            let on_key_line = TEMPLATE.lines().any(|line| {
                line.starts_with(&format!("# {field} ")) && line.trim_end().ends_with(setting.env)
            });
            assert!(
                on_key_line,
                "{} should be named on the `{field}` line",
                setting.env
            );
        }
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(closest("prot", ["host", "port"].into_iter()), Some("port"));
        assert_eq!(closest("zzzz", ["host", "port"].into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
