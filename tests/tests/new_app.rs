//! The new-user path, end to end: a brand-new crate that depends on `tinybase`, a function
//! scaffolded with `new fn` and left as generated, built, initialised, served and called
//! over HTTP, and the call found in the admin call history.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, workdir};

/// Where the new app is built. Kept between runs (under cargo's target dir) so only the
/// first run compiles TinyBase's dependencies for it.
fn app_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-app-target")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    cargo_with_env(dir, args, &[])
}

fn cargo_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("CARGO_TARGET_DIR", app_target_dir())
        // The app's own build only has to run: without debug info or incremental caches
        // it takes a fraction of the disk space (this target dir is a second full build).
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn a_new_crate_with_a_scaffolded_function_serves_it() {
    // The README's steps, word for word: cargo new, cargo add, a one-line main.
    let (_guard, dir) = workdir();
    cargo(&dir, &["new", "--vcs", "none", "--quiet", "myapp"]);
    let app = dir.join("myapp");
    let tinybase = workspace_root().join("tinybase");
    cargo(
        &app,
        &[
            "add",
            "--offline",
            "--quiet",
            "--path",
            &tinybase.display().to_string(),
        ],
    );
    std::fs::write(
        app.join("src/main.rs"),
        "fn main() -> std::process::ExitCode {\n    tinybase::run()\n}\n",
    )
    .unwrap();
    // The workspace's lock file pins the versions TinyBase is tested with, and lets the
    // build run offline.
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();

    let admin = [
        ("TINYBASE_ADMIN_EMAIL", "owner@example.com"),
        ("TINYBASE_ADMIN_PASSWORD", "owner-password"),
    ];
    let init = cargo_with_env(&app, &["run", "--offline", "--quiet", "--", "init"], &admin);
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(said.contains("admin: created owner@example.com"), "{said}");

    // `new fn greet` through the app's own binary, as a user runs it.
    let scaffold = cargo(
        &app,
        &["run", "--offline", "--quiet", "--", "new", "fn", "greet"],
    );
    let said = String::from_utf8_lossy(&scaffold.stdout);
    assert!(said.contains("created src/functions/greet.rs"), "{said}");
    assert!(app.join("src/functions/greet.rs").is_file());
    assert!(
        std::fs::read_to_string(app.join("src/main.rs"))
            .unwrap()
            .contains("mod functions;")
    );

    // Build it with the function as generated: no edits.
    cargo(&app, &["build", "--offline", "--quiet"]);
    let binary = app_target_dir().join("debug").join("myapp");

    let server = Server::start_binary(&binary, &app, &["--port", "0"], &[]).unwrap();
    let (status, login) = common::login(&server.base, "owner@example.com", "owner-password").await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap();
    let client = reqwest::Client::new();

    let response = client
        .post(format!("{}/api/functions/greet", server.base))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let call_id = response.headers()["x-function-call-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().starts_with("Hello, Ada!"),
        "{body}"
    );

    let anonymous = client
        .post(format!("{}/api/functions/greet", server.base))
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let calls: serde_json::Value = client
        .get(format!(
            "{}/api/admin/functions/calls?function_name=greet",
            server.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["total_items"], 1, "{calls}");
    assert_eq!(calls["items"][0]["id"], call_id.as_str());
    assert_eq!(calls["items"][0]["status"], "succeeded");
    assert!(calls["items"][0]["duration_ms"].is_i64());
}

/// What `cargo package` produced, unpacked: `(tinybase dir, tinybase-macros dir)`.
fn packaged_crates(into: &Path) -> (PathBuf, PathBuf) {
    cargo(
        &workspace_root(),
        &[
            "package",
            "--quiet",
            "--allow-dirty",
            "--no-verify",
            "-p",
            "tinybase-macros",
            "-p",
            "tinybase",
        ],
    );
    let packages = app_target_dir().join("package");
    let mut dirs = Vec::new();
    for name in ["tinybase", "tinybase-macros"] {
        let version = env!("CARGO_PKG_VERSION");
        let archive = packages.join(format!("{name}-{version}.crate"));
        let status = Command::new("tar")
            .args([
                "xzf",
                &archive.display().to_string(),
                "-C",
                &into.display().to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "cannot unpack {}", archive.display());
        dirs.push(into.join(format!("{name}-{version}")));
    }
    (dirs.remove(0), dirs.remove(0))
}

#[tokio::test]
async fn an_app_builds_and_serves_from_the_packaged_crates() {
    let (_guard, dir) = workdir();
    let (tinybase, macros) = packaged_crates(&dir);
    // Only what the package holds is there: templates, migrations, admin UI assets.
    assert!(tinybase.join("templates/function.rs.tmpl").is_file());
    assert!(!tinybase.join("tests").exists(), "tests are not packaged");

    let app = dir.join("packaged-app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"packaged-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\ntinybase = {{ path = {:?} }}\n\n\
             [patch.crates-io]\ntinybase-macros = {{ path = {:?} }}\n\n[workspace]\n",
            tinybase.display().to_string(),
            macros.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        app.join("src/main.rs"),
        "fn main() -> std::process::ExitCode {\n    tinybase::run()\n}\n",
    )
    .unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    cargo(
        &app,
        &["run", "--offline", "--quiet", "--", "new", "fn", "greet"],
    );
    cargo(&app, &["build", "--offline", "--quiet"]);

    let binary = app_target_dir().join("debug").join("packaged-app");
    let server = Server::start_binary(&binary, &app, &["--port", "0"], &[]).unwrap();
    let health = reqwest::get(format!("{}/api/health", server.base))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let openapi: serde_json::Value = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/functions/greet"]["post"].is_object());
}
