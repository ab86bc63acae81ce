//! Files on an S3-compatible service: moto's S3 server, started by the test on loopback,
//! stands in for AWS. Uploads (multipart, several parts), downloads with ranges and
//! thumbnails, and deletions all go through the same API as on local disk.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestServer;
use common::records::{record_path, records_path};
use reqwest::StatusCode as S;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tinybase::config::StorageBackend;

const BUCKET: &str = "tinybase-files";

/// moto's S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Self {
        let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/.cache/peers/venv/bin/moto_server");
        assert!(
            binary.exists(),
            "{} is missing: run `bash tests/peers/install.sh`",
            binary.display()
        );
        let mut child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env("PYTHONUNBUFFERED", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "dummy")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("Running on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("moto_server reports its address");
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        Self { child, endpoint }
    }

    /// The keys in the bucket.
    async fn keys(&self) -> Vec<String> {
        let xml = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{}/{BUCKET}?list-type=2", self.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::new(width, height))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_an_s3_bucket() {
    let moto = Moto::start();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let created = client
        .put(format!("{}/{BUCKET}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());

    let endpoint = moto.endpoint.clone();
    let server = TestServer::start_with(move |s| {
        s.storage.backend = StorageBackend::S3;
        s.storage.s3_bucket = Some(BUCKET.to_owned());
        s.storage.s3_endpoint = Some(endpoint);
        s.storage.s3_access_key_id = Some("dummy".to_owned());
        s.storage.s3_secret_access_key = Some("dummy".to_owned());
        s.storage.s3_path_style = true;
    })
    .await;
    let admin = server.admin_token().await;
    let (status, body) = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "media", "schema": {"fields": [
                {"name": "cover", "type": "file", "mime_types": ["image/png"]},
                {"name": "video", "type": "file", "max_size": 50_000_000},
            ]}}),
        )
        .await;
    assert_eq!(status, S::CREATED, "{body}");

    // 12 MiB: three parts of a multipart upload.
    let video: Vec<u8> = (0..12 * 1024 * 1024_u32).map(|i| (i % 253) as u8).collect();
    let form = Form::new()
        .part("cover", Part::bytes(png(300, 100)).file_name("cover.png"))
        .part("video", Part::bytes(video.clone()).file_name("clip.mp4"));
    let response = server
        .request(reqwest::Method::POST, &records_path("media"), Some(&admin))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, record) = common::read(response).await;
    assert_eq!(status, S::CREATED, "{record}");
    let id = record["id"].as_str().unwrap().to_owned();
    assert_eq!(moto.keys().await.len(), 2, "{:?}", moto.keys().await);

    let video_url = format!(
        "/api/files/media/{id}/{}",
        record["data"]["video"].as_str().unwrap()
    );
    let whole = server
        .request(reqwest::Method::GET, &video_url, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), S::OK);
    assert!(whole.headers().contains_key("etag"));
    assert_eq!(whole.bytes().await.unwrap().len(), video.len());
    let part = server
        .request(reqwest::Method::GET, &video_url, Some(&admin))
        .header("range", "bytes=10000000-10000009")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), S::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        video[10_000_000..10_000_010].to_vec()
    );

    let cover_url = format!(
        "/api/files/media/{id}/{}?thumb=30x0",
        record["data"]["cover"].as_str().unwrap()
    );
    let thumb = server
        .request(reqwest::Method::GET, &cover_url, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), S::OK);
    let image = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (30, 10));
    assert!(moto.keys().await.iter().any(|k| k.starts_with("thumbs/")));

    // Replacing a file deletes the old object; deleting the record deletes the rest.
    let form = Form::new().part("cover", Part::bytes(png(2, 2)).file_name("new.png"));
    let response = server
        .request(
            reqwest::Method::PATCH,
            &record_path("media", &id),
            Some(&admin),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, updated) = common::read(response).await;
    assert_eq!(status, S::OK, "{updated}");
    let keys = moto.keys().await;
    assert_eq!(keys.len(), 2, "old cover and its thumbnail gone: {keys:?}");
    let (status, _) = server
        .delete(&record_path("media", &id), Some(&admin))
        .await;
    assert_eq!(status, S::NO_CONTENT);
    assert!(moto.keys().await.is_empty(), "{:?}", moto.keys().await);
}
