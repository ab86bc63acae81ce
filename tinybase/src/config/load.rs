//! Loading: reading the config file and the environment and layering them over the
//! defaults, remembering which layer set each key so errors can name it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::error::{ConfigError, ConfigSource, locate_file_error, read_error, unknown_env_error};
use super::settings::Settings;
use super::table::{SETTINGS, setting_by_key};

/// File name looked up in the working directory when no config path is given.
pub const DEFAULT_CONFIG_FILE: &str = "tinybase.toml";

/// Environment variable conventionally used to point at the config file.
///
/// It is not a setting (it selects the file that holds the settings), so the loader
/// accepts and ignores it instead of rejecting it as an unknown `TINYBASE_*` variable.
/// The CLI may read it, e.g. as the `env` of its `--config` flag.
pub const CONFIG_FILE_ENV: &str = "TINYBASE_CONFIG";

/// Every environment variable that must start with this prefix to be considered ours.
pub(super) const ENV_PREFIX: &str = "TINYBASE_";

/// Remembers which layer last set each key, so validation errors can point at it.
#[derive(Debug, Default)]
pub(super) struct Provenance(BTreeMap<&'static str, ConfigSource>);

impl Provenance {
    /// Notes that `source` set `key`, replacing what an earlier layer set.
    fn record(&mut self, key: &'static str, source: ConfigSource) {
        self.0.insert(key, source);
    }

    /// Untracked keys still hold their default or were changed by the caller, so only
    /// "merged" is certain.
    pub(super) fn source_of(&self, key: &str) -> ConfigSource {
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
}

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::AuthSettings;
    use crate::config::tests::{env, write_config};

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
}
