//! Test helpers shared by the config modules, and the checks that keep the shipped
//! config template in step with the settings table and the defaults.

// Panicking on an unexpected result is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use super::table::SETTINGS;
use super::{ConfigError, DEFAULT_CONFIG_FILE, Settings};

const TEMPLATE: &str = include_str!("../../templates/tinybase.toml");

/// Owned `(name, value)` pairs, as [`Settings::apply_env`] takes them.
pub(super) fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The error of applying one variable to the defaults; fails the test if there is none.
pub(super) fn env_err(name: &str, value: &str) -> ConfigError {
    Settings::default()
        .apply_env(env(&[(name, value)]))
        .expect_err("value should be rejected")
}

/// Writes `text` as the default config file in `dir` and returns its path.
pub(super) fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join(DEFAULT_CONFIG_FILE);
    fs::write(&path, text).unwrap();
    path
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
