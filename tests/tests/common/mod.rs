//! Runs the e2e app as a child process in a temp directory and talks to it over loopback.

#![allow(dead_code)]

pub(crate) mod peers;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The app binary under test.
pub(crate) const APP: &str = env!("CARGO_BIN_EXE_e2e-app");

/// How long a server gets to start or stop.
const PATIENCE: Duration = Duration::from_secs(30);

/// A command for the app, run in `dir`, with no TINYBASE_* variables inherited.
pub(crate) fn app_command(dir: &Path) -> Command {
    binary_command(Path::new(APP), dir)
}

/// A command for any TinyBase app binary, run in `dir`, with no TINYBASE_* variables
/// inherited.
pub(crate) fn binary_command(binary: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("TINYBASE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("TINYBASE_LOG_LEVEL", "info");
    // Set on some machines, it breaks Litestream's S3 client against a plain-HTTP peer.
    cmd.env_remove("AWS_CA_BUNDLE");
    cmd
}

/// Runs the app to completion.
pub(crate) fn run_app(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = app_command(dir);
    cmd.args(args).stdin(Stdio::null());
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("the app runs")
}

/// A loopback port that is certainly taken while the returned listener lives: a server
/// told to use it cannot start, which shows which setting it obeyed.
pub(crate) fn busy_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A running `serve` process.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) log: Vec<String>,
    lines: Receiver<String>,
}

impl Server {
    /// Starts `serve` with `args` and `env` in `dir` and waits until it listens.
    pub(crate) fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        Self::start_binary(Path::new(APP), dir, args, env)
    }

    /// Starts `serve` of another app binary.
    pub(crate) fn start_binary(
        binary: &Path,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut cmd = binary_command(binary, dir);
        cmd.arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        // Every path below either hands the child to `Server` (killed and reaped on drop)
        // or kills it.
        #[allow(clippy::zombie_processes)]
        let mut child = cmd.spawn().expect("the app starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let base = line
                        .split("listening on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_owned);
                    log.push(line);
                    if let Some(base) = base {
                        return Ok(Server {
                            child,
                            base,
                            log,
                            lines,
                        });
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        while let Ok(line) = lines.try_recv() {
                            log.push(line);
                        }
                        return Err(format!("exited with {status}:\n{}", log.join("\n")));
                    }
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("did not start listening:\n{}", log.join("\n")))
    }

    /// The port the server listens on.
    pub(crate) fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Reads the log until a line satisfies `wanted` (returning it), for at most
    /// `patience`; `None` if none did. Every line read is kept in `log`.
    pub(crate) fn wait_for_log(
        &mut self,
        patience: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        if let Some(line) = self.log.iter().find(|l| wanted(l)) {
            return Some(line.clone());
        }
        let deadline = Instant::now() + patience;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    let found = wanted(&line);
                    self.log.push(line.clone());
                    if found {
                        return Some(line);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
        None
    }

    /// Waits for the process to exit and collects the rest of its log.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.log.push(line);
                }
                return status;
            }
            if Instant::now() >= deadline {
                while let Ok(line) = self.lines.try_recv() {
                    self.log.push(line);
                }
                panic!(
                    "server did not exit within {} s; its log:\n{}",
                    PATIENCE.as_secs(),
                    self.log.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs in over HTTP and returns (status, body).
pub(crate) async fn login(base: &str, email: &str, password: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A fresh temp directory to run the app in.
pub(crate) fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}
