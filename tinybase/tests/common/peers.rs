//! Real outside services the account tests talk to, started on 127.0.0.1 by the test:
//! an SMTP server that keeps every mail (aiosmtpd) and an OpenID Connect provider
//! (oidc-provider under Node). Installed by `bash tests/peers/install.sh`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The workspace root.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn require(path: &Path) {
    assert!(
        path.exists(),
        "{} is missing: run `bash tests/peers/install.sh` first",
        path.display()
    );
}

/// A loopback port nothing listens on right now (the peers below cannot report the port
/// they got from the OS, so the port is checked free first).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Waits until something accepts connections on `port`, or panics with `what`.
fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One mail as the SMTP server received it, decoded.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Mail {
    /// The token in the plain-text body (from the `?token=` of its link).
    pub fn token(&self) -> String {
        let text = self.text.as_deref().expect("a plain-text part");
        let start = text.find("?token=").expect("a link with a token") + "?token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    }
}

/// aiosmtpd on a loopback port, keeping every mail in a Maildir.
pub struct MailSink {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    _tmp: tempfile::TempDir,
}

impl MailSink {
    /// Starts the SMTP server (on a free port, unless `port` is given).
    pub fn start_on(port: Option<u16>) -> Self {
        let python = root().join("tests/.cache/peers/venv/bin/python");
        require(&python);
        let tmp = tempfile::tempdir().expect("temp dir");
        // aiosmtpd's Mailbox handler wants to create the directory itself.
        let dir = tmp.path().join("mail");
        let port = port.unwrap_or_else(free_port);
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        wait_listening(port, &mut child, "aiosmtpd");
        Self {
            port,
            dir,
            child,
            _tmp: tmp,
        }
    }

    /// Starts the SMTP server on a free port.
    pub fn start() -> Self {
        Self::start_on(None)
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Mail> {
        if !self.dir.join("new").exists() {
            return Vec::new();
        }
        let output = Command::new(root().join("tests/.cache/peers/venv/bin/python"))
            .arg(root().join("tests/peers/mail_dump.py"))
            .arg(&self.dir)
            .output()
            .expect("run mail_dump.py");
        assert!(
            output.status.success(),
            "mail_dump.py: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("mail_dump.py prints JSON")
    }

    /// The mails to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits until `to` has received `count` mails and returns them. Mails are sent
    /// after the response, so a test waits for them (up to a minute: a deadline for a
    /// mail that never comes, not a timing claim).
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{to} got {} mails, expected {count}",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// oidc-provider (Node) on a loopback port; see `tests/peers/oidc_provider.mjs`.
pub struct OidcProvider {
    pub port: u16,
    child: Child,
}

impl OidcProvider {
    /// Starts the provider on `port` with one client whose callback is `redirect_uri`.
    pub fn start(port: u16, client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        require(&root().join("tests/.cache/peers/node/node_modules/oidc-provider/package.json"));
        let mut child = Command::new("node")
            .arg(root().join("tests/peers/oidc_provider.mjs"))
            .arg(port.to_string())
            .args([client_id, client_secret, redirect_uri])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node (is Node.js installed?)");
        wait_listening(port, &mut child, "oidc-provider");
        Self { port, child }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
