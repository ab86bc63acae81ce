//! Files: file fields in schemas, multipart uploads on record create and update, serving
//! under the record's view rule (types, caching, ranges, attachments, thumbnails, file
//! tokens), and stored files following their records (replace, remove, delete, sweep).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::records::{field_errors, record_path, records_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode as S;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tinybase::collections::Record;
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Result};

/// A file to attach to a `gallery` record from a function.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Attach {
    id: String,
    field: String,
    filename: String,
    text: String,
}

/// The record after attaching, and the attached file read back.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Attached {
    record: Record,
    read_back: String,
}

/// Attaches a text file to a gallery record as the caller, then reads it back.
#[tinybase::function(auth = "auth")]
async fn attach_text(ctx: Context, input: Attach) -> Result<Attached> {
    let records = ctx.records();
    let record = records
        .attach_file(
            "gallery",
            &input.id,
            &input.field,
            &input.filename,
            input.text.into_bytes(),
        )
        .await?;
    let name = match &record.data[&input.field] {
        Value::Array(names) => names
            .last()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    let bytes = records.read_file("gallery", &input.id, &name).await?;
    Ok(Attached {
        record,
        read_back: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A server whose files go to a folder the test can look into.
struct Files {
    server: TestServer,
    storage: PathBuf,
    _dir: tempfile::TempDir,
    admin: String,
}

impl Files {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("files");
        let path = storage.clone();
        let server = TestServer::start_with(move |s| s.storage.path = Some(path)).await;
        let admin = server.admin_token().await;
        Self {
            server,
            storage,
            _dir: dir,
            admin,
        }
    }

    /// Creates `name` with `fields` and the given rules.
    async fn collection(&self, name: &str, fields: Value, options: Value) {
        let (status, body) = self
            .server
            .post(
                "/api/collections",
                Some(&self.admin),
                json!({"name": name, "schema": {"fields": fields}, "options": options}),
            )
            .await;
        assert_eq!(status, S::CREATED, "{body}");
    }

    async fn send_form(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        form: Form,
    ) -> (S, Value) {
        let response = self
            .server
            .request(method, path, token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        common::read(response).await
    }

    async fn create(&self, collection: &str, token: Option<&str>, form: Form) -> (S, Value) {
        self.send_form(
            reqwest::Method::POST,
            &records_path(collection),
            token,
            form,
        )
        .await
    }

    async fn update(
        &self,
        collection: &str,
        id: &str,
        token: Option<&str>,
        form: Form,
    ) -> (S, Value) {
        self.send_form(
            reqwest::Method::PATCH,
            &record_path(collection, id),
            token,
            form,
        )
        .await
    }

    async fn download(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.server
            .request(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap()
    }

    /// Every stored file (not folders), as paths relative to the storage folder.
    fn stored(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(&self.storage, &self.storage, &mut found);
        found.sort();
        found
    }

    async fn pending_deletions(&self) -> i64 {
        self.server
            .app
            .database()
            .read(|conn| {
                Ok(conn.query_row("SELECT COUNT(*) FROM file_deletions", [], |r| r.get(0))?)
            })
            .await
            .unwrap()
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

fn file_url(collection: &str, id: &str, name: &str) -> String {
    format!("/api/files/{collection}/{id}/{name}")
}

/// A PNG image of `width` x `height`.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        width,
        height,
        image::Rgb([200, 10, 10]),
    ))
    .write_to(&mut out, image::ImageFormat::Png)
    .unwrap();
    out.into_inner()
}

fn file(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

fn data(value: Value) -> Part {
    Part::text(value.to_string())
        .mime_str("application/json")
        .unwrap()
}

const PUBLIC: &str = "public";

fn public_rules() -> Value {
    json!({"list_rule": PUBLIC, "view_rule": PUBLIC, "create_rule": PUBLIC,
           "update_rule": PUBLIC, "delete_rule": PUBLIC})
}

fn gallery_fields() -> Value {
    json!([
        {"name": "title", "type": "string"},
        {"name": "avatar", "type": "file", "max_size": 100_000, "mime_types": ["image/*"]},
        {"name": "docs", "type": "list[file]", "max_length": 3},
    ])
}

#[tokio::test]
async fn file_fields_are_checked_when_the_schema_is_saved() {
    let f = Files::start().await;
    let (status, body) = f
        .server
        .post(
            "/api/collections",
            Some(&f.admin),
            json!({"name": "bad", "schema": {"fields": [
                {"name": "a", "type": "file", "max_size": 0},
                {"name": "b", "type": "list[file]", "mime_types": ["nope"]},
                {"name": "c", "type": "int", "max_size": 10},
            ]}}),
        )
        .await;
    assert_eq!(status, S::UNPROCESSABLE_ENTITY, "{body}");
    let fields = field_errors(&body);
    assert!(fields.contains_key("schema.fields[0].max_size"), "{body}");
    assert!(fields.contains_key("schema.fields[1].mime_types"), "{body}");
    assert!(fields.contains_key("schema.fields[2].max_size"), "{body}");
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let (_, doc) = f.server.get("/openapi.json", None).await;
    let create =
        &doc["paths"]["/api/collections/gallery/records"]["post"]["requestBody"]["content"];
    let form = &create["multipart/form-data"]["schema"]["properties"];
    assert_eq!(form["avatar"]["format"], "binary", "{create}");
    assert_eq!(form["docs"]["items"]["format"], "binary", "{create}");
    // The data part is the record's JSON, described by the collection's create schema.
    assert_eq!(
        form["data"]["$ref"], "#/components/schemas/GalleryCreate",
        "{create}"
    );
    assert_eq!(
        create["multipart/form-data"]["encoding"]["data"]["contentType"], "application/json",
        "{create}"
    );
    assert_eq!(
        create["multipart/form-data"]["schema"]["additionalProperties"], false,
        "{create}"
    );
    assert!(doc["paths"]["/api/files/{collection}/{record_id}/{filename}"]["get"].is_object());
    assert!(doc["paths"]["/api/files/token"]["post"].is_object());
}

#[tokio::test]
async fn a_multipart_create_stores_files_and_serves_them() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let avatar = png(40, 20);
    let form = Form::new()
        .part("data", data(json!({"title": "Hello"})))
        .part("avatar", file(avatar.clone(), "My Photo.PNG"))
        .part("docs", file(b"first".to_vec(), "../../etc/passwd"))
        .part(
            "docs",
            file(b"<html><script>alert(1)</script>".to_vec(), "page.html"),
        );
    let (status, record) = f.create("gallery", None, form).await;
    assert_eq!(status, S::CREATED, "{record}");
    let id = record["id"].as_str().unwrap();
    let name = record["data"]["avatar"].as_str().unwrap();
    assert!(
        name.starts_with("My_Photo_") && name.ends_with(".png"),
        "{name}"
    );
    let docs: Vec<&str> = record["data"]["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert!(
        docs[0].starts_with("passwd_") && !docs[0].contains('/'),
        "{docs:?}"
    );
    assert_eq!(record["data"]["title"], "Hello");
    assert_eq!(f.stored().len(), 3, "{:?}", f.stored());
    assert_eq!(
        f.pending_deletions().await,
        0,
        "uploads taken in are no longer pending"
    );

    // The image, inline, with a tag and caching.
    let response = f.download(&file_url("gallery", id, name), None).await;
    assert_eq!(response.status(), S::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(response.bytes().await.unwrap().to_vec(), avatar);

    // Not modified.
    let response = f
        .server
        .request(reqwest::Method::GET, &file_url("gallery", id, name), None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::NOT_MODIFIED);
    assert!(response.bytes().await.unwrap().is_empty());

    // A byte range.
    let response = f
        .server
        .request(reqwest::Method::GET, &file_url("gallery", id, name), None)
        .header("range", "bytes=1-3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes 1-3/{}", avatar.len()).as_str()
    );
    assert_eq!(
        response.bytes().await.unwrap().to_vec(),
        avatar[1..4].to_vec()
    );
    let response = f
        .server
        .request(reqwest::Method::GET, &file_url("gallery", id, name), None)
        .header("range", format!("bytes={}-", avatar.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::RANGE_NOT_SATISFIABLE);

    // ?download=1 makes anything an attachment.
    let response = f
        .download(
            &format!("{}?download=1", file_url("gallery", id, name)),
            None,
        )
        .await;
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // HTML never renders inline on the API's origin; plain text does.
    let response = f.download(&file_url("gallery", id, docs[1]), None).await;
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let response = f.download(&file_url("gallery", id, docs[0]), None).await;
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().await.unwrap(), "first");

    // Names the record does not hold are 404, whatever exists elsewhere.
    let response = f
        .download(&file_url("gallery", id, "nope_abc.png"), None)
        .await;
    assert_eq!(response.status(), S::NOT_FOUND);
    let response = f
        .download(
            &file_url("gallery", "0197a000-0000-7000-8000-000000000000", name),
            None,
        )
        .await;
    assert_eq!(response.status(), S::NOT_FOUND);
}

/// A file larger than the first bytes read to tell its type comes back byte for byte,
/// whole and in a range from its middle.
#[tokio::test]
async fn a_large_file_downloads_byte_for_byte_whole_and_in_ranges() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    // 300 KB of varied bytes: several reads' worth, no run that would hide a lost chunk.
    let content: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let form = Form::new().part("docs", file(content.clone(), "data.bin"));
    let (status, record) = f.create("gallery", None, form).await;
    assert_eq!(status, S::CREATED, "{record}");
    let url = file_url(
        "gallery",
        record["id"].as_str().unwrap(),
        record["data"]["docs"][0].as_str().unwrap(),
    );

    let response = f.download(&url, None).await;
    assert_eq!(response.status(), S::OK);
    assert_eq!(response.headers()["content-length"], "300000");
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.bytes().await.unwrap().to_vec() == content);

    // The tag of a streamed file is the one a conditional request is checked against.
    let response = f
        .server
        .request(reqwest::Method::GET, &url, None)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::NOT_MODIFIED);

    let response = f
        .server
        .request(reqwest::Method::GET, &url, None)
        .header("range", "bytes=150000-150099")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::PARTIAL_CONTENT);
    assert!(response.bytes().await.unwrap().to_vec() == content[150_000..150_100]);
}

#[tokio::test]
async fn too_large_and_wrong_type_uploads_are_refused_and_leave_nothing() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;

    let form = Form::new()
        .part("data", data(json!({"title": "big"})))
        .part(
            "avatar",
            file([png(2, 2), vec![0; 100_000]].concat(), "big.png"),
        );
    let answer = f.create("gallery", None, form).await;
    assert_status_error(&answer, S::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(
        field_errors(&answer.1)["avatar"],
        "must be at most 100000 bytes"
    );

    // Judged by content: text named .png is text.
    let form = Form::new().part("avatar", file(b"just some text".to_vec(), "x.png"));
    let answer = f.create("gallery", None, form).await;
    assert_status_error(&answer, S::UNPROCESSABLE_ENTITY, "validation_failed");
    let message = field_errors(&answer.1)["avatar"].as_str().unwrap();
    assert!(message.contains("text/plain"), "{message}");

    // A good file stored before a bad one is deleted again.
    let form = Form::new()
        .part("docs", file(b"one".to_vec(), "one.txt"))
        .part("avatar", file(b"<!DOCTYPE html><p>hi".to_vec(), "x.png"));
    let answer = f.create("gallery", None, form).await;
    assert_eq!(answer.0, S::UNPROCESSABLE_ENTITY, "{}", answer.1);

    // Too many files for the list, a second file for a single field, a part for a
    // field that is not a file field, a file where a name belongs.
    let form = Form::new()
        .part("docs", file(b"1".to_vec(), "1.txt"))
        .part("docs", file(b"2".to_vec(), "2.txt"))
        .part("docs", file(b"3".to_vec(), "3.txt"))
        .part("docs", file(b"4".to_vec(), "4.txt"));
    let answer = f.create("gallery", None, form).await;
    assert_status_error(&answer, S::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(field_errors(&answer.1).contains_key("docs"), "{}", answer.1);
    let form = Form::new()
        .part("avatar", file(png(2, 2), "a.png"))
        .part("avatar", file(png(2, 2), "b.png"));
    let answer = f.create("gallery", None, form).await;
    assert_eq!(
        field_errors(&answer.1)["avatar"],
        "takes one file; 2 were uploaded"
    );
    let form = Form::new().part("title", file(b"x".to_vec(), "x.txt"));
    let answer = f.create("gallery", None, form).await;
    assert!(
        field_errors(&answer.1).contains_key("title"),
        "{}",
        answer.1
    );
    let form = Form::new().part("data", data(json!({"avatar": "someone_elses_abc.png"})));
    let answer = f.create("gallery", None, form).await;
    assert!(
        field_errors(&answer.1).contains_key("avatar"),
        "{}",
        answer.1
    );
    // A JSON create cannot name files either.
    let answer = f
        .server
        .post(
            &records_path("gallery"),
            None,
            json!({"avatar": "x_abc.png"}),
        )
        .await;
    assert_eq!(answer.0, S::UNPROCESSABLE_ENTITY, "{}", answer.1);

    // Malformed and truncated bodies are 400.
    let response = f
        .server
        .request(reqwest::Method::POST, &records_path("gallery"), None)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"docs\"; filename=\"a.txt\"\r\n\r\nhalf a fi")
        .send()
        .await
        .unwrap();
    let answer = common::read(response).await;
    assert_status_error(&answer, S::BAD_REQUEST, "bad_request");
    let response = f
        .server
        .request(reqwest::Method::POST, &records_path("gallery"), None)
        .header("content-type", "multipart/form-data")
        .body("no boundary")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), S::BAD_REQUEST);

    assert!(f.stored().is_empty(), "{:?}", f.stored());
    assert_eq!(f.pending_deletions().await, 0);
    let (_, page) = f.server.get(&records_path("gallery"), None).await;
    assert_eq!(page["total_items"], 0, "{page}");
}

/// A client still sending when its upload is refused finishes sending and then reads the
/// refusal: the server reads on to the end of the form (up to 1 MiB and 2 s more) before
/// it answers, instead of answering and closing the connection under the client.
#[tokio::test]
async fn a_client_still_sending_a_refused_upload_reads_the_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;

    let boundary = "tinybase-test-boundary";
    let head_part = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"avatar\"; filename=\"big.png\"\r\n\
         content-type: image/png\r\n\r\n"
    );
    // The first half is already over the field's 100,000 bytes; the second comes later.
    let first = [head_part.into_bytes(), png(2, 2), vec![0; 120_000]].concat();
    let second = [
        vec![0; 200_000],
        format!("\r\n--{boundary}--\r\n").into_bytes(),
    ]
    .concat();
    let request_head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         content-type: multipart/form-data; boundary={boundary}\r\ncontent-length: {}\r\n\r\n",
        records_path("gallery"),
        first.len() + second.len()
    );
    let address = f.server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request_head.as_bytes()).await.unwrap();
    stream.write_all(&first).await.unwrap();
    // Time for the server to see the file is too large before the rest arrives.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // No answer yet: one now would be followed by the server closing the connection
    // while the client still writes, which clients such as Node's fetch report as a
    // broken connection instead of the 413.
    let mut early = [0u8; 64];
    let read = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        stream.read(&mut early),
    )
    .await;
    assert!(
        read.is_err(),
        "answered before the form was read: {read:?} {}",
        String::from_utf8_lossy(&early)
    );
    stream.write_all(&second).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes")
    .expect("the answer arrives instead of a reset connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert!(f.stored().is_empty(), "{:?}", f.stored());
}

#[tokio::test]
async fn updates_replace_append_and_remove_files_and_delete_the_old_ones() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let form = Form::new()
        .part("avatar", file(png(2, 2), "old.png"))
        .part("docs", file(b"1".to_vec(), "1.txt"))
        .part("docs", file(b"2".to_vec(), "2.txt"));
    let (_, record) = f.create("gallery", None, form).await;
    let id = record["id"].as_str().unwrap().to_owned();
    let old = record["data"]["avatar"].as_str().unwrap().to_owned();
    let docs = record["data"]["docs"].clone();

    // Replace the single file, append to the list.
    let form = Form::new()
        .part("avatar", file(png(3, 3), "new.png"))
        .part("docs", file(b"3".to_vec(), "3.txt"));
    let (status, updated) = f.update("gallery", &id, None, form).await;
    assert_eq!(status, S::OK, "{updated}");
    let new = updated["data"]["avatar"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let all = updated["data"]["docs"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    assert_eq!(all[..2], docs.as_array().unwrap()[..]);
    assert!(
        !f.stored().iter().any(|p| p.ends_with(&old)),
        "the replaced file is gone"
    );
    assert_eq!(
        f.download(&file_url("gallery", &id, &old), None)
            .await
            .status(),
        S::NOT_FOUND
    );
    assert_eq!(f.stored().len(), 4);

    // JSON: a subset keeps those files, null removes the single one.
    let keep = all[2].as_str().unwrap();
    let (status, updated) = f
        .server
        .patch(
            &record_path("gallery", &id),
            None,
            json!({"docs": [keep], "avatar": null, "title": "t"}),
        )
        .await;
    assert_eq!(status, S::OK, "{updated}");
    assert_eq!(updated["data"], json!({"docs": [keep], "title": "t"}));
    assert_eq!(f.stored().len(), 1, "{:?}", f.stored());
    assert_eq!(f.pending_deletions().await, 0);

    // Names it does not hold are refused, and nothing changes.
    let (status, body) = f
        .server
        .patch(
            &record_path("gallery", &id),
            None,
            json!({"docs": [keep, "other_abc.txt"]}),
        )
        .await;
    assert_eq!(status, S::UNPROCESSABLE_ENTITY, "{body}");
    assert!(field_errors(&body).contains_key("docs"));
    // A refused update with an upload deletes the upload.
    let form = Form::new()
        .part("data", data(json!({"title": 5})))
        .part("docs", file(b"x".to_vec(), "x.txt"));
    let (status, body) = f.update("gallery", &id, None, form).await;
    assert_eq!(status, S::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(f.stored().len(), 1, "{:?}", f.stored());

    // Deleting the record deletes its files.
    let (status, _) = f.server.delete(&record_path("gallery", &id), None).await;
    assert_eq!(status, S::NO_CONTENT);
    assert!(f.stored().is_empty(), "{:?}", f.stored());
    assert_eq!(f.pending_deletions().await, 0);
}

#[tokio::test]
async fn files_follow_the_view_rule_and_file_tokens_open_them() {
    let f = Files::start().await;
    f.collection(
        "private",
        json!([{"name": "doc", "type": "file"}]),
        json!({"list_rule": "owner", "view_rule": "owner", "create_rule": "auth", "update_rule": "owner", "delete_rule": "owner"}),
    )
    .await;
    let (ann, _) = f.server.register("ann@example.com", "ann-password").await;
    let (bob, _) = f.server.register("bob@example.com", "bob-password").await;
    // Anonymous uploads are refused before anything is stored.
    let form = Form::new().part("doc", file(b"secret".to_vec(), "s.txt"));
    let (status, _) = f.create("private", None, form).await;
    assert_eq!(status, S::UNAUTHORIZED);
    assert!(f.stored().is_empty());

    let form = Form::new().part("doc", file(b"secret".to_vec(), "s.txt"));
    let (status, record) = f.create("private", Some(&ann), form).await;
    assert_eq!(status, S::CREATED, "{record}");
    let url = file_url(
        "private",
        record["id"].as_str().unwrap(),
        record["data"]["doc"].as_str().unwrap(),
    );
    assert_eq!(
        f.download(&url, Some(&ann)).await.text().await.unwrap(),
        "secret"
    );
    assert_eq!(f.download(&url, None).await.status(), S::UNAUTHORIZED);
    let status = f.download(&url, Some(&bob)).await.status();
    assert!(status == S::FORBIDDEN || status == S::NOT_FOUND, "{status}");
    // Bob cannot upload into Ann's record either.
    let form = Form::new().part("doc", file(b"mine".to_vec(), "m.txt"));
    let (status, _) = f
        .update("private", record["id"].as_str().unwrap(), Some(&bob), form)
        .await;
    assert!(status == S::FORBIDDEN || status == S::NOT_FOUND, "{status}");
    assert_eq!(f.stored().len(), 1);

    // A file token opens it without a header, for its own user only.
    let (status, token) = f
        .server
        .post("/api/files/token", Some(&ann), json!({}))
        .await;
    assert_eq!(status, S::OK, "{token}");
    let expires = common::timestamp(&token["expires_at"]);
    assert!(expires <= chrono::Utc::now() + chrono::Duration::minutes(5));
    let file_token = token["token"].as_str().unwrap();
    let response = f.download(&format!("{url}?token={file_token}"), None).await;
    assert_eq!(response.status(), S::OK);
    assert_eq!(response.text().await.unwrap(), "secret");
    let (status, bob_token) = f
        .server
        .post("/api/files/token", Some(&bob), json!({}))
        .await;
    assert_eq!(status, S::OK);
    let status = f
        .download(
            &format!("{url}?token={}", bob_token["token"].as_str().unwrap()),
            None,
        )
        .await
        .status();
    assert!(status == S::FORBIDDEN || status == S::NOT_FOUND, "{status}");
    assert_eq!(
        f.download(&format!("{url}?token=tb_nope"), None)
            .await
            .status(),
        S::UNAUTHORIZED
    );
    // A file token is no bearer token, and getting one needs a sign-in.
    let (status, _) = f.server.get("/api/auth/me", Some(file_token)).await;
    assert_eq!(status, S::UNAUTHORIZED);
    let (status, _) = f.server.post("/api/files/token", None, json!({})).await;
    assert_eq!(status, S::UNAUTHORIZED);
}

#[tokio::test]
async fn thumbnails_are_made_once_and_kept() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let form = Form::new()
        .part("avatar", file(png(400, 200), "wide.png"))
        .part("docs", file(b"not an image".to_vec(), "t.txt"));
    let (_, record) = f.create("gallery", None, form).await;
    let id = record["id"].as_str().unwrap();
    let url = file_url("gallery", id, record["data"]["avatar"].as_str().unwrap());
    for (thumb, size) in [
        ("100x100", (100, 100)),
        ("0x50", (100, 50)),
        ("40x0", (40, 20)),
    ] {
        let response = f.download(&format!("{url}?thumb={thumb}"), None).await;
        assert_eq!(response.status(), S::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), size, "{thumb}");
    }
    let thumbs = f
        .stored()
        .iter()
        .filter(|p| p.starts_with("thumbs"))
        .count();
    assert_eq!(thumbs, 3, "{:?}", f.stored());
    // Asked again: served from the kept thumbnail.
    let response = f.download(&format!("{url}?thumb=100x100"), None).await;
    assert_eq!(response.status(), S::OK);
    assert_eq!(
        f.stored()
            .iter()
            .filter(|p| p.starts_with("thumbs"))
            .count(),
        3
    );
    // At most 16 sizes are kept per file; later new sizes get the original.
    for side in 1..=13 {
        let response = f
            .download(&format!("{url}?thumb={side}x{side}"), None)
            .await;
        assert_eq!(response.status(), S::OK);
    }
    assert_eq!(
        f.stored()
            .iter()
            .filter(|p| p.starts_with("thumbs"))
            .count(),
        16
    );
    let response = f.download(&format!("{url}?thumb=77x77"), None).await;
    let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (400, 200));
    assert_eq!(
        f.stored()
            .iter()
            .filter(|p| p.starts_with("thumbs"))
            .count(),
        16
    );
    // Not an image: the file itself. A bad size: 400.
    let text = file_url("gallery", id, record["data"]["docs"][0].as_str().unwrap());
    let response = f.download(&format!("{text}?thumb=10x10"), None).await;
    assert_eq!(response.text().await.unwrap(), "not an image");
    let response = f.download(&format!("{url}?thumb=big"), None).await;
    assert_eq!(response.status(), S::BAD_REQUEST);
    // Deleting the record takes its thumbnails too.
    let (status, _) = f.server.delete(&record_path("gallery", id), None).await;
    assert_eq!(status, S::NO_CONTENT);
    assert!(f.stored().is_empty(), "{:?}", f.stored());
}

#[tokio::test]
async fn deleting_a_collection_deletes_its_files() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    for _ in 0..2 {
        let form = Form::new().part("docs", file(b"x".to_vec(), "x.txt"));
        assert_eq!(f.create("gallery", None, form).await.0, S::CREATED);
    }
    assert_eq!(f.stored().len(), 2);
    let (status, _) = f
        .server
        .delete("/api/collections/gallery", Some(&f.admin))
        .await;
    assert_eq!(status, S::NO_CONTENT);
    assert!(f.stored().is_empty(), "{:?}", f.stored());
}

#[tokio::test]
async fn a_cascaded_delete_deletes_the_files_of_every_record_it_removes() {
    let f = Files::start().await;
    f.collection(
        "albums",
        json!([{"name": "title", "type": "string"}]),
        public_rules(),
    )
    .await;
    let mut fields = gallery_fields();
    fields.as_array_mut().unwrap().push(json!({
        "name": "album", "type": "relation", "collection": "albums", "on_delete": "cascade"
    }));
    f.collection("gallery", fields, public_rules()).await;
    let (_, album) = f
        .server
        .post(&records_path("albums"), None, json!({"title": "holiday"}))
        .await;
    let album_id = album["id"].as_str().unwrap().to_owned();
    let (_, other_album) = f
        .server
        .post(&records_path("albums"), None, json!({"title": "work"}))
        .await;
    let other_id = other_album["id"].as_str().unwrap().to_owned();

    let mut photos = Vec::new();
    for (album, name) in [
        (&album_id, "a.png"),
        (&album_id, "b.png"),
        (&other_id, "c.png"),
    ] {
        let form = Form::new()
            .part("data", data(json!({"album": album})))
            .part("avatar", file(png(2, 2), name));
        let (status, photo) = f.create("gallery", None, form).await;
        assert_eq!(status, S::CREATED, "{photo}");
        photos.push(photo);
    }
    assert_eq!(f.stored().len(), 3, "{:?}", f.stored());

    let (status, body) = f
        .server
        .delete(&record_path("albums", &album_id), None)
        .await;
    assert_eq!(status, S::NO_CONTENT, "{body}");
    // The two photos of the deleted album are gone, records and files alike; the photo of
    // the other album keeps its file.
    let kept = photos[2]["data"]["avatar"].as_str().unwrap();
    assert_eq!(f.stored().len(), 1, "{:?}", f.stored());
    assert!(f.stored()[0].ends_with(kept), "{:?}", f.stored());
    for photo in &photos[..2] {
        let id = photo["id"].as_str().unwrap();
        let name = photo["data"]["avatar"].as_str().unwrap();
        assert_eq!(
            f.download(&file_url("gallery", id, name), None)
                .await
                .status(),
            S::NOT_FOUND
        );
    }
    assert_eq!(f.pending_deletions().await, 0);
}

#[tokio::test]
async fn removing_a_file_field_from_the_schema_deletes_its_files() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let form = Form::new()
        .part("avatar", file(png(2, 2), "a.png"))
        .part("docs", file(b"1".to_vec(), "1.txt"))
        .part("docs", file(b"2".to_vec(), "2.txt"));
    assert_eq!(f.create("gallery", None, form).await.0, S::CREATED);
    assert_eq!(f.stored().len(), 3);
    let (status, body) = f
        .server
        .patch(
            "/api/collections/gallery",
            Some(&f.admin),
            json!({"schema": {"fields": [
                {"name": "title", "type": "string"},
                {"name": "avatar", "type": "file"},
            ]}}),
        )
        .await;
    assert_eq!(status, S::OK, "{body}");
    let left = f.stored();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with(".png"), "{left:?}");
}

#[tokio::test]
async fn functions_attach_and_read_files_with_the_same_checks() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let (_, record) = f
        .server
        .post(&records_path("gallery"), None, json!({"title": "t"}))
        .await;
    let id = record["id"].as_str().unwrap();
    let (status, out) = f
        .server
        .post(
            "/api/functions/attach_text",
            Some(&f.admin),
            json!({"id": id, "field": "docs", "filename": "../note.txt", "text": "hello"}),
        )
        .await;
    assert_eq!(status, S::OK, "{out}");
    assert_eq!(out["read_back"], "hello");
    let name = out["record"]["data"]["docs"][0].as_str().unwrap();
    assert!(
        name.starts_with("note_") && name.ends_with(".txt"),
        "{name}"
    );
    assert_eq!(f.stored().len(), 1);
    // Text is no image, whatever its name.
    let (status, out) = f
        .server
        .post(
            "/api/functions/attach_text",
            Some(&f.admin),
            json!({"id": id, "field": "avatar", "filename": "x.png", "text": "not an image"}),
        )
        .await;
    assert_eq!(status, S::UNPROCESSABLE_ENTITY, "{out}");
    assert!(field_errors(&out).contains_key("avatar"), "{out}");
    assert_eq!(f.stored().len(), 1, "{:?}", f.stored());
}

#[tokio::test]
async fn a_sweep_deletes_what_an_interrupted_write_left_behind() {
    let f = Files::start().await;
    f.collection("gallery", gallery_fields(), public_rules())
        .await;
    let form = Form::new().part("docs", file(b"x".to_vec(), "x.txt"));
    let (_, record) = f.create("gallery", None, form).await;
    assert_eq!(f.stored().len(), 1);
    // As if the server had died between a commit and the deletion it scheduled, and
    // during an upload of the previous run.
    let stored = f.stored()[0].clone();
    std::fs::create_dir_all(f.storage.join("c/r")).unwrap();
    std::fs::write(f.storage.join("c/r/upload_abc.bin"), b"partial").unwrap();
    let key = stored.clone();
    f.server
        .app
        .database()
        .write(move |tx| {
            tx.execute(
                "INSERT INTO file_deletions (key, due_at, created_at) VALUES (?1, '2000-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z')",
                [key],
            )?;
            tx.execute(
                "INSERT INTO file_deletions (key, due_at, created_at) VALUES ('c/r/upload_abc.bin', '2999-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z')",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    f.server.app.run_maintenance().await;
    assert!(f.stored().is_empty(), "{:?}", f.stored());
    assert_eq!(f.pending_deletions().await, 0);
    assert!(record["data"]["docs"].is_array());
}
