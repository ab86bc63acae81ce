//! The README's configuration table is the reference users read: it must list every
//! setting with its file key, its environment variable and its real default.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;

use tinybase::config::{Settings, reference};

/// `(file key, env var, default cell)` for every row of the README's settings table.
fn readme_rows() -> Vec<(String, String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let table = readme
        .split("| setting (`tinybase.toml`) | environment variable | default |")
        .nth(1)
        .expect("the README has the settings table");
    let mut rows = Vec::new();
    for line in table.lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let keys: Vec<&str> = cells[1].split(" / ").map(|k| k.trim_matches('`')).collect();
        let envs: Vec<&str> = cells[2]
            .split(" / ")
            .map(|e| e.split_whitespace().next().unwrap().trim_matches('`'))
            .collect();
        assert_eq!(keys.len(), envs.len(), "{line}");
        for (key, env) in keys.into_iter().zip(envs) {
            rows.push((key.to_owned(), env.to_owned(), cells[3].to_owned()));
        }
    }
    rows
}

#[test]
fn the_readme_lists_every_setting_and_only_real_ones() {
    let documented: BTreeSet<(String, String)> =
        readme_rows().into_iter().map(|(k, e, _)| (k, e)).collect();
    let actual: BTreeSet<(String, String)> = reference()
        .map(|(k, e)| (k.to_owned(), e.to_owned()))
        .collect();
    assert_eq!(documented, actual);
}

#[test]
fn the_readme_defaults_are_the_real_defaults() {
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    for (key, _, cell) in readme_rows() {
        let (section, name) = key.split_once('.').unwrap();
        let shown = cell.split('`').nth(1).unwrap_or("");
        match defaults.get(section).and_then(|s| s.get(name)) {
            None | Some(serde_json::Value::Null) => {
                assert!(
                    cell.starts_with("unset"),
                    "{key}: no default, README says {cell:?}"
                );
            }
            Some(serde_json::Value::String(text)) => assert_eq!(shown, text, "{key}"),
            Some(serde_json::Value::Array(items)) if items.is_empty() => {
                assert!(cell.starts_with("empty"), "{key}: README says {cell:?}");
            }
            Some(value) => assert_eq!(shown, value.to_string(), "{key}"),
        }
    }
}

#[test]
fn the_commented_config_file_lists_every_setting() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/tinybase.toml"
    ))
    .unwrap();
    for (key, env) in reference() {
        let name = key.split_once('.').unwrap().1;
        assert!(
            template.contains(&format!("# {name} = ")),
            "{key} missing from the template"
        );
        assert!(template.contains(env), "{env} missing from the template");
    }
}
