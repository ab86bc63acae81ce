//! The settings structs and enums, one per `[section]` of the config file, with their
//! built-in defaults, their serde shape and `Debug` output that keeps secrets out of logs.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

/// The `admin.static_dir` value that means the UI embedded in the binary.
pub(super) const BUILTIN_ADMIN_UI: &str = "builtin";

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
/// explicit endpoints `auth_url`, `token_url` and `userinfo_url` (plain OAuth2, no ID
/// token); a `preset` fills in a known provider's values, and keys given here override it.
// Debug is implemented by hand so the client secret never ends up in logs.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2Provider {
    /// Name used in URLs (`/api/auth/oauth2/{name}/start`): lower-case letters, digits,
    /// `-` and `_`. Defaults to the preset's name (`github`, `google`).
    pub name: String,
    /// Name shown to users; defaults to the preset's (`GitHub`, `Google`), else `name`.
    #[serde(deserialize_with = "empty_as_none")]
    pub display_name: Option<String>,
    /// A known provider whose endpoints and default scopes fill in the keys not given.
    pub preset: Option<OAuth2Preset>,
    /// OpenID Connect issuer URL; its `/.well-known/openid-configuration` supplies the
    /// endpoints and signing keys.
    #[serde(deserialize_with = "empty_as_none")]
    pub issuer: Option<String>,
    /// Authorization endpoint the browser is sent to (explicit endpoints, no `issuer`).
    #[serde(deserialize_with = "empty_as_none")]
    pub auth_url: Option<String>,
    /// Token endpoint that exchanges the code (explicit endpoints).
    #[serde(deserialize_with = "empty_as_none")]
    pub token_url: Option<String>,
    /// Endpoint answering the signed-in user's profile as JSON: `sub` or `id`, and
    /// `email`, `email_verified` (explicit endpoints).
    #[serde(deserialize_with = "empty_as_none")]
    pub userinfo_url: Option<String>,
    /// Optional endpoint answering the user's addresses as a JSON array of `{email,
    /// verified, primary}` (GitHub's shape); when given, the primary address is the email.
    #[serde(deserialize_with = "empty_as_none")]
    pub emails_url: Option<String>,
    /// Client id registered with the provider.
    pub client_id: String,
    /// Client secret registered with the provider.
    #[serde(deserialize_with = "empty_as_none")]
    pub client_secret: Option<String>,
    /// Scopes to ask for. With `issuer`: besides `openid`, empty means `email` and
    /// `profile`. With explicit endpoints: exactly these (the GitHub preset's default is
    /// `read:user` and `user:email`).
    pub scopes: Vec<String>,
}

/// A provider whose settings TinyBase knows (`preset` in `[[auth.oauth2]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuth2Preset {
    /// GitHub: plain OAuth2 with its endpoints; the email is the verified primary address
    /// from its email list.
    Github,
    /// Google: OpenID Connect discovery at `https://accounts.google.com`.
    Google,
}

impl fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("preset", &self.preset)
            .field("issuer", &self.issuer)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .field("emails_url", &self.emails_url)
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

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;

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
}
