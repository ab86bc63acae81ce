//! The command line as a user runs it: `init`, `serve`, `admin create`, configuration
//! layering, bad configuration, and graceful shutdown on SIGTERM and Ctrl-C (SIGINT).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, busy_port, login, run_app, workdir};

const ADMIN_ENV: [(&str, &str); 2] = [
    ("TINYBASE_ADMIN_EMAIL", "boss@example.com"),
    ("TINYBASE_ADMIN_PASSWORD", "boss-password"),
];

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn init_creates_config_database_and_admin_then_serve_lets_the_admin_in() {
    let (_guard, dir) = workdir();
    let out = run_app(&dir, &["init"], &ADMIN_ENV);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("admin: created boss@example.com"),
        "{}",
        stdout(&out)
    );
    assert!(dir.join("tinybase.toml").is_file());
    assert!(dir.join("tinybase.db").is_file());

    // Idempotent: a second run changes nothing and says so.
    let config_before = std::fs::read_to_string(dir.join("tinybase.toml")).unwrap();
    let out = run_app(&dir, &["init"], &ADMIN_ENV);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already an admin"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tinybase.toml")).unwrap(),
        config_before
    );

    let mut server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    let health: serde_json::Value = reqwest::get(format!("{}/api/health", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let (status, body) = login(&server.base, "boss@example.com", "boss-password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["is_admin"], true);

    server.terminate();
    assert!(server.wait().success());
}

#[tokio::test]
async fn init_without_admin_settings_explains_how_to_create_one() {
    let (_guard, dir) = workdir();
    let out = run_app(&dir, &["init"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("admin create"), "{}", stdout(&out));

    let mut server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    server.terminate();
    server.wait();
    assert!(
        server.log.iter().any(|l| l.contains("no admin yet")),
        "{:#?}",
        server.log
    );
}

#[tokio::test]
async fn admin_create_creates_then_promotes() {
    let (_guard, dir) = workdir();
    let out = run_app(
        &dir,
        &[
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--password",
            "ops-password",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("created ops@example.com"),
        "{}",
        stdout(&out)
    );

    let out = run_app(
        &dir,
        &["admin", "create", "--email", "ops@example.com"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already an admin"),
        "{}",
        stdout(&out)
    );

    let out = run_app(
        &dir,
        &[
            "admin",
            "create",
            "--email",
            "new@example.com",
            "--password",
            "short",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));

    let server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let (status, _) = login(&server.base, "ops@example.com", "ops-password").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn settings_layer_defaults_then_file_then_env_then_flags() {
    let (_guard, dir) = workdir();
    // Which layer won is told by ports without guessing at free ones: port 0 (any free
    // port) against one this test holds, where a server cannot start.
    let (_held, busy) = busy_port();
    let busy_text = busy.to_string();
    let config = |port: &str| {
        format!("[server]\nport = {port}\n\n[database]\nurl = \"sqlite:///./from-file.db\"\n")
    };

    // The file beats the defaults: any free port rather than 8000, and its database.
    std::fs::write(dir.join("tinybase.toml"), config("0")).unwrap();
    let server = Server::start(&dir, &[], &[]).unwrap();
    assert_ne!(server.port(), 8000, "the file sets the port");
    assert!(
        dir.join("from-file.db").is_file(),
        "the file sets the database"
    );
    drop(server);

    // The held port really stops a start.
    std::fs::write(dir.join("tinybase.toml"), config(&busy_text)).unwrap();
    let Err(refused) = Server::start(&dir, &[], &[]) else {
        panic!("started on a taken port");
    };
    assert!(refused.contains(&busy_text), "{refused}");

    // The environment beats the file.
    let server = Server::start(
        &dir,
        &[],
        &[("TINYBASE_SERVER_PORT", "0"), ("TINYBASE_DB_URL", "env.db")],
    )
    .unwrap();
    assert_ne!(server.port(), busy, "env beats the file");
    assert!(
        dir.join("env.db").is_file(),
        "env beats the file for the database"
    );
    drop(server);

    // A flag beats the environment.
    let server = Server::start(
        &dir,
        &["--port", "0"],
        &[("TINYBASE_SERVER_PORT", &busy_text)],
    )
    .unwrap();
    assert_ne!(server.port(), busy, "the flag beats env");
    drop(server);

    // An explicit --config file replaces ./tinybase.toml (which names the held port).
    let other = dir.join("other.toml");
    std::fs::write(&other, "[server]\nport = 0\n").unwrap();
    let other_arg = other.display().to_string();
    let server = Server::start(&dir, &["--config", &other_arg], &[]).unwrap();
    assert_ne!(server.port(), busy);
}

#[tokio::test]
async fn the_access_log_line_carries_the_request_id() {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let client = reqwest::Client::new();

    // An id the client sends is kept, and logged with the request's outcome.
    let response = client
        .get(format!("{}/api/health", server.base))
        .header("x-request-id", "e2e-trace-7f3a9c")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-request-id"], "e2e-trace-7f3a9c");
    let line = server
        .wait_for_log(Duration::from_secs(10), |l| l.contains("e2e-trace-7f3a9c"))
        .unwrap_or_else(|| panic!("no log line has the id:\n{}", server.log.join("\n")));
    assert!(
        line.contains("/api/health") && line.contains("status=200"),
        "{line}"
    );

    // One the server makes up is logged the same way, for an error answer too.
    let response = client
        .get(format!("{}/api/no-such-route", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let line = server
        .wait_for_log(Duration::from_secs(10), |l| l.contains(&id))
        .unwrap_or_else(|| panic!("no log line has {id}:\n{}", server.log.join("\n")));
    assert!(
        line.contains("/api/no-such-route") && line.contains("status=404"),
        "{line}"
    );
}

#[test]
fn bad_configuration_fails_start_up_naming_the_key_and_source() {
    let (_guard, dir) = workdir();
    let out = run_app(&dir, &["serve"], &[("TINYBASE_SERVER_PORT", "eighty")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("TINYBASE_SERVER_PORT") && err.contains("eighty"),
        "{err}"
    );

    let out = run_app(&dir, &["serve"], &[("TINYBASE_SERVR_PORT", "8000")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("TINYBASE_SERVR_PORT"),
        "{}",
        stderr(&out)
    );

    std::fs::write(dir.join("tinybase.toml"), "[server]\nprot = 9000\n").unwrap();
    let out = run_app(&dir, &["serve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("prot") && err.contains("tinybase.toml"),
        "{err}"
    );

    std::fs::write(dir.join("tinybase.toml"), "[auth]\ntoken_ttl_hours = 0\n").unwrap();
    let out = run_app(&dir, &["serve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("token_ttl_hours"), "{}", stderr(&out));

    let out = run_app(&dir, &["serve", "--config", "missing.toml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));

    // Nothing was created by the failed starts.
    assert!(!dir.join("tinybase.db").exists());
}

/// Starts a server, puts a registration in flight (headers sent, the server reading the
/// body), sends `signal`, and checks that the request still completes, the process exits
/// with success, logs that it stopped, and no longer accepts connections.
fn a_signal_lets_an_in_flight_request_finish(signal: &str) {
    let (_guard, dir) = workdir();
    let mut server = Server::start(&dir, &["--port", "0"], &[]).unwrap();
    let body = br#"{"email": "late@example.com", "password": "late-password"}"#;

    // Send the headers, asking to be told when the server wants the body: the interim
    // `100 Continue` comes once the handler reads it, so the request is surely in flight.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /api/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    let mut interim = Vec::new();
    let mut byte = [0_u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "connection closed");
        interim.push(byte[0]);
    }
    let interim = String::from_utf8(interim).unwrap();
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    // Ask the server to stop, then finish the request.
    server.signal(signal);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited on SIG{signal} with a request in flight"
    );
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let status = server.wait();
    assert!(status.success(), "SIG{signal}: exit status {status}");
    let log = server.log.join("\n");
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        TcpStream::connect(("127.0.0.1", server.port())).is_err(),
        "still accepting connections after SIG{signal}"
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    a_signal_lets_an_in_flight_request_finish("TERM");
}

#[test]
fn ctrl_c_lets_an_in_flight_request_finish_then_exits_cleanly() {
    a_signal_lets_an_in_flight_request_finish("INT");
}
