//! The outside programs the tests start on loopback, installed by
//! `tests/peers/install.sh`: Litestream, moto's S3 server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An outside program installed by `tests/peers/install.sh`.
pub(crate) fn peer(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/peers/venv/bin")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `bash tests/peers/install.sh`",
        path.display()
    );
    path
}

/// moto's S3 server on a free loopback port; killed on drop.
pub(crate) struct Moto {
    child: Child,
    /// The server's `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
}

impl Moto {
    /// Starts moto and waits until it listens.
    pub(crate) fn start() -> Moto {
        let mut child = Command::new(peer("moto_server"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("moto_server exited before listening")
                .unwrap();
            if let Some(url) = line.split("Running on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        // Keep reading so moto never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Moto { child, endpoint }
    }

    /// Creates an empty bucket.
    pub(crate) async fn create_bucket(&self, bucket: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }

    /// Replication settings (sync every 250 ms) for a replica in `bucket`, as
    /// environment variables.
    pub(crate) fn replication(&self, bucket: &str) -> Vec<(String, String)> {
        [
            (
                "TINYBASE_REPLICATION_URL",
                format!("s3://{bucket}/prod/app"),
            ),
            ("TINYBASE_REPLICATION_S3_ENDPOINT", self.endpoint.clone()),
            ("TINYBASE_REPLICATION_S3_REGION", "us-east-1".to_owned()),
            (
                "TINYBASE_REPLICATION_S3_ACCESS_KEY_ID",
                "testing".to_owned(),
            ),
            (
                "TINYBASE_REPLICATION_S3_SECRET_ACCESS_KEY",
                "testing".to_owned(),
            ),
            ("TINYBASE_REPLICATION_S3_PATH_STYLE", "true".to_owned()),
            ("TINYBASE_REPLICATION_SYNC_INTERVAL_MS", "250".to_owned()),
            (
                "TINYBASE_REPLICATION_LITESTREAM_BIN",
                peer("litestream").display().to_string(),
            ),
            // Never the cloud metadata address, whatever happens.
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
