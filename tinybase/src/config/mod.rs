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
//!
//! The pieces live in submodules: `settings` (the structs and their defaults), `table`
//! (the `SETTINGS` list) with `parse` (its value parsers), `load` (file and environment
//! layering), `check` (semantic validation), `oauth2` (provider presets and their checks)
//! and `error` (errors and suggestions).

mod check;
mod error;
mod load;
mod oauth2;
mod parse;
mod settings;
mod table;
#[cfg(test)]
mod tests;

pub use check::ReplicaTarget;
pub use error::{ConfigError, ConfigSource};
pub use load::{CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE};
pub use settings::{
    AdminSettings, AuthSettings, CorsSettings, DatabaseSettings, FunctionSettings, MailSettings,
    OAuth2Preset, OAuth2Provider, RealtimeSettings, Registration, ReplicationSettings,
    SchedulerSettings, ServerSettings, Settings, SmtpTls, StorageBackend, StorageSettings,
    WebhookSettings,
};
pub use table::reference;
