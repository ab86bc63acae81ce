//! Configuration errors: [`ConfigError`] and the [`ConfigSource`] it names, the builders
//! for the errors of reading a file or the environment, and the "did you mean" suggestion
//! for misspelled keys and variables.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::settings::Settings;
use super::table::{SETTINGS, section_of, setting_by_key};

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

/// The error for a config file that cannot be read.
pub(super) fn read_error(path: &Path, err: &io::Error) -> ConfigError {
    let message = if err.kind() == io::ErrorKind::NotFound {
        "the file does not exist".to_owned()
    } else {
        format!("cannot read the file: {err}")
    };
    ConfigError::new(ConfigSource::File(path.to_path_buf()), "", message)
}

/// The error for a `TINYBASE_*` variable that is no setting, with a spelling suggestion
/// and the list of known variables.
pub(super) fn unknown_env_error(name: String) -> ConfigError {
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
pub(super) fn locate_file_error(text: &str) -> (String, Option<&'static str>) {
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
    use crate::config::tests::{env_err, write_config};

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
    fn typo_suggestions() {
        assert_eq!(closest("prot", ["host", "port"].into_iter()), Some("port"));
        assert_eq!(closest("zzzz", ["host", "port"].into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
