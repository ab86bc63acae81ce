//! No Docker engine runs here, so the Dockerfile is checked against the workspace it
//! builds: the files it copies, the package it builds, the port, the health check path
//! and the Rust version all have to exist and agree.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The default value of `ARG name=value`.
fn arg_default(dockerfile: &str, name: &str) -> String {
    dockerfile
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("ARG {name}=")))
        .unwrap_or_else(|| panic!("no ARG {name}"))
        .to_owned()
}

#[test]
fn the_default_app_is_a_workspace_package_with_a_binary() {
    let dockerfile = read("Dockerfile");
    let app = arg_default(&dockerfile, "APP");
    let manifest = read(&format!("examples/{app}/Cargo.toml"));
    assert!(
        manifest.contains(&format!("name = \"{app}\"")),
        "{manifest}"
    );
    assert!(root().join(format!("examples/{app}/src/main.rs")).is_file());
    assert!(dockerfile.contains("cargo build --release --locked -p \"${APP}\""));
    assert!(
        root().join("Cargo.lock").is_file(),
        "--locked needs the lock file"
    );
}

#[test]
fn the_rust_image_matches_the_declared_rust_version() {
    let dockerfile = read("Dockerfile");
    let image = arg_default(&dockerfile, "RUST_VERSION");
    let workspace = read("Cargo.toml");
    assert!(
        workspace.contains(&format!("rust-version = \"{image}\"")),
        "Dockerfile builds with Rust {image}; Cargo.toml declares otherwise"
    );
}

#[test]
fn copies_name_paths_that_exist() {
    let dockerfile = read("Dockerfile");
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for source in &parts[1..parts.len() - 1] {
            assert!(
                root().join(source).exists(),
                "COPY source {source} does not exist"
            );
        }
    }
}

#[test]
fn port_health_check_and_data_volume_match_the_server() {
    let dockerfile = read("Dockerfile");
    let defaults = tinybase::config::Settings::default();
    assert!(dockerfile.contains(&format!("EXPOSE {}", defaults.server.port)));
    assert!(dockerfile.contains(&format!("TINYBASE_SERVER_PORT={}", defaults.server.port)));
    assert!(dockerfile.contains(&format!(
        "http://127.0.0.1:{}/api/health",
        defaults.server.port
    )));
    assert!(dockerfile.contains("VOLUME [\"/data\"]"));
    assert!(dockerfile.contains("TINYBASE_DB_URL=/data/tinybase.db"));
    assert!(dockerfile.contains("CMD [\"serve\", \"--host\", \"0.0.0.0\"]"));
    assert!(
        dockerfile.contains("USER tinybase"),
        "the server must not run as root"
    );
    // The health check path is a real route.
    let health = read("tinybase/src/api/routes/health.rs");
    assert!(health.contains("\"/api/health\""));
}

#[test]
fn the_image_ships_the_litestream_the_tests_run() {
    let dockerfile = read("Dockerfile");
    let version = arg_default(&dockerfile, "LITESTREAM_VERSION");
    let peers = read("tests/peers/install.sh");
    assert!(
        peers.contains(&format!("\"litestream-bin=={version}\"")),
        "the Dockerfile ships Litestream {version}; the tests install another"
    );
    // On PATH under its own name, where `replication.litestream_bin`'s default finds it.
    assert!(dockerfile.contains("/usr/local/bin/litestream\n"));
    assert_eq!(
        tinybase::config::Settings::default()
            .replication
            .litestream_bin,
        "litestream"
    );
}

#[test]
fn build_output_and_local_state_stay_out_of_the_context() {
    let ignore = read(".dockerignore");
    for entry in ["target/", "**/node_modules/", "*.db", ".git/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            "{entry} not ignored"
        );
    }
}
