//! The settings table: every setting once, tying its dotted file key to its environment
//! variable and to the parser that applies an environment value to its field.

use std::path::PathBuf;

use super::parse::{
    non_empty, parse_bool, parse_list, parse_port, parse_registration, parse_smtp_tls, parse_uint,
};
use super::settings::{BUILTIN_ADMIN_UI, Settings, StorageBackend};

/// Parses one environment value into the matching field; the error text is the reason.
type Apply = fn(&mut Settings, &str) -> Result<(), String>;

/// Every setting as `(dotted file key, environment variable)`, in documentation order.
pub fn reference() -> impl Iterator<Item = (&'static str, &'static str)> {
    SETTINGS.iter().map(|s| (s.key, s.env))
}

/// One setting: its dotted file key, its environment variable, and how to apply a value.
pub(super) struct Setting {
    /// Dotted file key such as `server.port`.
    pub(super) key: &'static str,
    /// Environment variable such as `TINYBASE_SERVER_PORT`.
    pub(super) env: &'static str,
    /// Parses an environment value into the field.
    pub(super) apply: Apply,
}

/// The single list of settings. File keys are checked against it to name the offending
/// key in errors, and environment variables are resolved through it.
pub(super) static SETTINGS: &[Setting] = &[
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
                         [{{\"preset\":\"github\",\"client_id\":\"…\",\"client_secret\":\"…\"}}]"
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

/// The `[section]` part of a dotted key.
pub(super) fn section_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(section, _)| section)
}

/// The setting with this dotted file key.
pub(super) fn setting_by_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::load::ENV_PREFIX;
    use crate::config::tests::{env, env_err};
    use crate::config::{
        AdminSettings, AuthSettings, CONFIG_FILE_ENV, ConfigSource, CorsSettings, DatabaseSettings,
        FunctionSettings, MailSettings, OAuth2Preset, OAuth2Provider, RealtimeSettings,
        Registration, ReplicationSettings, SchedulerSettings, ServerSettings, SmtpTls,
        StorageSettings, WebhookSettings,
    };

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
                    "client_secret": "shh", "scopes": ["email"]},
                    {"preset": "github", "client_id": "gh",
                     "userinfo_url": "http://127.0.0.1:9000/user"}]"#,
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
                oauth2: vec![
                    OAuth2Provider {
                        name: "corp".to_owned(),
                        display_name: None,
                        preset: None,
                        issuer: Some("https://id.example.com".to_owned()),
                        auth_url: None,
                        token_url: None,
                        userinfo_url: None,
                        emails_url: None,
                        client_id: "tb".to_owned(),
                        client_secret: Some("shh".to_owned()),
                        scopes: vec!["email".to_owned()],
                    },
                    OAuth2Provider {
                        preset: Some(OAuth2Preset::Github),
                        userinfo_url: Some("http://127.0.0.1:9000/user".to_owned()),
                        client_id: "gh".to_owned(),
                        ..OAuth2Provider::default()
                    },
                ],
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
}
