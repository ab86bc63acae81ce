//! `GET /api/files/{collection}/{record_id}/{filename}`

use aide::OperationOutput;
use aide::generate::GenContext;
use aide::openapi::{MediaType, Operation, Response as ApiResponse, StatusCode as ApiStatus};
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use schemars::JsonSchema;
use serde::Deserialize;

use super::range::{self, Wanted};
use crate::api::AppState;
use crate::api::extract::{AnyCaller, Path, Query};
use crate::auth::{Caller, file_tokens};
use crate::collections::holds_file;
use crate::storage::thumbs::{self, ThumbSize};
use crate::storage::{FileStore, Opened, file_key, sniff, thumbs_key};
use crate::{Error, Result};

/// How long clients may reuse a file without asking again. A stored name never changes
/// content (a replaced file gets a new name), so a day is safe; `private` keeps shared
/// caches from serving one user's file to another.
const CACHE_CONTROL: &str = "private, max-age=86400";

/// Files up to this size are read in one go and sent in one piece. The storage streams in
/// 8 KiB chunks, each read on a blocking thread: a 100 KiB image took a dozen hand-offs
/// and writes. Larger files stream, so memory per download stays bounded.
const WHOLE_FILE_BYTES: u64 = 256 * 1024;

/// What follows the first bytes of a plain request's object.
enum Rest {
    /// Nothing: they are the whole object.
    None,
    /// The rest of the opened stream.
    Stream(ObjectStream),
    /// The object was not opened (a conditional or ranged request): read the range.
    Unopened,
}

/// An object's bytes as the store streams them.
type ObjectStream = BoxStream<'static, object_store::Result<bytes::Bytes>>;

/// The path of a file.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FilePath {
    /// The collection's name.
    pub collection: String,
    /// The record's id.
    pub record_id: String,
    /// The file's stored name, as in the record's data.
    pub filename: String,
}

/// How to serve a file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct FileQuery {
    /// A file token from `POST /api/files/token`, for clients that cannot send headers.
    pub token: Option<String>,
    /// `1` or `true`: serve as an attachment (`Content-Disposition: attachment`).
    pub download: Option<String>,
    /// `WxH` such as `100x100` or `0x300`: a resized image (JPEG, PNG, WebP, GIF).
    #[schemars(regex(pattern = crate::storage::thumbs::THUMB_PATTERN))]
    pub thumb: Option<String>,
}

pub(super) async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(path): Path<FilePath>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> Result<FileResponse> {
    let caller = match query.token.as_deref() {
        Some(token) => file_token_caller(&state, token).await?,
        None => caller,
    };
    let thumb = query.thumb.as_deref().map(ThumbSize::parse).transpose()?;
    let record = state
        .collections
        .get_record(&caller, &path.collection, &path.record_id)
        .await?;
    let loaded = state
        .collections
        .loaded(&path.collection)
        .ok_or_else(|| Error::not_found("no such collection"))?;
    if !holds_file(loaded.compiled.schema(), &record.data, &path.filename) {
        return Err(no_file());
    }
    let store = state.collections.file_store();
    let key = file_key(&loaded.collection.id, &record.id, &path.filename);
    let download = matches!(query.download.as_deref(), Some("1" | "true"));
    let name = &path.filename;
    let Some(size) = thumb else {
        return serve(store, &key, name, &headers, download)
            .await?
            .ok_or_else(no_file);
    };
    // A thumbnail made before is served as it is found: no separate look first.
    let made = format!("{}/{}", thumbs_key(&key), size.label());
    if let Some(served) = serve(store, &made, name, &headers, download).await? {
        return Ok(served);
    }
    let key = thumbnail(store, &key, made, name, size).await?;
    serve(store, &key, name, &headers, download)
        .await?
        .ok_or_else(no_file)
}

/// The user of a file token; 401 when it is unknown or expired.
async fn file_token_caller(state: &AppState, token: &str) -> Result<Caller> {
    match file_tokens::user_for_token(&state.db, token).await? {
        Some(user) => Ok(Caller::from_user(&user)),
        None => Err(Error::unauthorized(
            "the file token is invalid or has expired",
        )),
    }
}

fn no_file() -> Error {
    Error::not_found("the record has no file with this name")
}

/// Makes and stores the `size` thumbnail of the file at `key` under `thumb`, where the
/// caller found none; returns `thumb`, or `key` itself for files that get no thumbnails
/// (not an image, too large, undecodable).
async fn thumbnail(
    store: &FileStore,
    key: &str,
    thumb: String,
    name: &str,
    size: ThumbSize,
) -> Result<String> {
    // Requests that all miss at once (a page of new images) make each thumbnail once: the
    // first makes it, the others wait and then find it.
    let _making = thumbs::making(&thumb).await;
    if store.head(&thumb).await?.is_some() {
        return Ok(thumb);
    }
    let Some(meta) = store.head(key).await? else {
        return Err(no_file());
    };
    if store
        .count_under(&thumbs_key(key), thumbs::MAX_THUMBS_PER_FILE)
        .await?
        >= thumbs::MAX_THUMBS_PER_FILE
    {
        return Ok(key.to_owned());
    }
    let head = read_head(store, key, meta.size).await?;
    if meta.size > thumbs::MAX_SOURCE_BYTES || !thumbs::is_thumbable(&sniff::file_type(&head, name))
    {
        return Ok(key.to_owned());
    }
    let source = store.read(key).await?;
    match tokio::task::spawn_blocking(move || thumbs::make(&source, size)).await? {
        Ok(bytes) => {
            store.put(&thumb, bytes.into()).await?;
            Ok(thumb)
        }
        Err(err) => {
            tracing::info!(%err, key, "serving the original: no thumbnail can be made");
            Ok(key.to_owned())
        }
    }
}

/// The first bytes of an object, enough to tell its type.
async fn read_head(store: &FileStore, key: &str, size: u64) -> Result<bytes::Bytes> {
    let end = size.min(sniff::SNIFF_BYTES as u64);
    if end == 0 {
        return Ok(bytes::Bytes::new());
    }
    store
        .get(key, Some(0..end))
        .await?
        .bytes()
        .await
        .map_err(|err| Error::internal(format!("file storage: {err}")))
}

/// Serves the object at `key` (shown to clients as `name`) with caching, ranges and a
/// content type from its content; `None` when there is no such object.
///
/// A plain request opens the object once and reads its type from the first bytes of the
/// same stream; a conditional or ranged one starts from the metadata alone, so a 304 or a
/// small range never opens the whole object.
async fn serve(
    store: &FileStore,
    key: &str,
    name: &str,
    headers: &HeaderMap,
    download: bool,
) -> Result<Option<FileResponse>> {
    let plain =
        !headers.contains_key(header::IF_NONE_MATCH) && !headers.contains_key(header::RANGE);
    // `head` is what the type is read from; `rest` says where the body comes from. A plain
    // request always sends the object (it has no If-None-Match), so it reads it at once.
    let (meta, opened) = if plain {
        match store.open_whole(key, WHOLE_FILE_BYTES).await? {
            None => return Ok(None),
            Some(Opened::InMemory(meta, whole)) => (meta, Some((whole, Rest::None))),
            Some(Opened::Stream(found)) => {
                let meta = found.meta.clone();
                let (head, rest) = split_head(found.into_stream()).await?;
                (meta, Some((head, Rest::Stream(rest))))
            }
        }
    } else {
        let Some(meta) = store.head(key).await? else {
            return Ok(None);
        };
        (meta, None)
    };
    let tag = meta
        .e_tag
        .as_deref()
        .map(|t| t.trim_matches('"').replace('"', ""))
        .unwrap_or_else(|| {
            format!(
                "{:x}-{:x}",
                meta.size,
                meta.last_modified.timestamp_micros()
            )
        });
    let etag = format!("\"{tag}\"");
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, CACHE_CONTROL);
    if matches_etag(headers.get(header::IF_NONE_MATCH), &etag) {
        return Ok(Some(FileResponse(
            response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .map_err(Error::internal)?,
        )));
    }
    let (head, rest) = match opened {
        Some(opened) => opened,
        None => (read_head(store, key, meta.size).await?, Rest::Unopened),
    };
    let mime = sniff::file_type(&head, name);
    let inline = !download && sniff::is_inline_safe(&mime);
    let disposition = format!(
        "{}; filename=\"{name}\"",
        if inline { "inline" } else { "attachment" }
    );
    // A changed file (If-Range with another tag) is sent whole.
    let range_header = match headers.get(header::IF_RANGE) {
        Some(tag) if tag.as_bytes() != etag.as_bytes() => None,
        _ => headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
    };
    response = response
        .header(header::CONTENT_TYPE, &mime)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::LAST_MODIFIED,
            meta.last_modified
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        );
    if mime != "application/pdf" {
        // Even if a browser were talked into rendering the file, nothing in it may run.
        response = response.header(
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        );
    }
    let (status, range) = match range::parse(range_header, meta.size) {
        Wanted::All => (StatusCode::OK, 0..meta.size),
        Wanted::Part(range) => {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", range.start, range.end - 1, meta.size),
            );
            (StatusCode::PARTIAL_CONTENT, range)
        }
        Wanted::Unsatisfiable => {
            return Ok(Some(FileResponse(
                response
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{}", meta.size))
                    .body(Body::empty())
                    .map_err(Error::internal)?,
            )));
        }
    };
    let length = range.end - range.start;
    let body = match rest {
        // A plain request sends no Range header, so it always wants the whole object.
        Rest::None => Body::from(head),
        Rest::Stream(rest) => {
            Body::from_stream(futures_util::stream::once(async move { Ok(head) }).chain(rest))
        }
        Rest::Unopened => Body::from_stream(store.get(key, Some(range)).await?.into_stream()),
    };
    Ok(Some(FileResponse(
        response
            .status(status)
            .header(header::CONTENT_LENGTH, length)
            .body(body)
            .map_err(Error::internal)?,
    )))
}

/// The first bytes of `stream` (at least enough to tell the type, unless it ends sooner)
/// and the rest of it.
async fn split_head(mut stream: ObjectStream) -> Result<(bytes::Bytes, ObjectStream)> {
    let mut head = bytes::BytesMut::new();
    while head.len() < sniff::SNIFF_BYTES {
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(
                &chunk.map_err(|err| Error::internal(format!("file storage: {err}")))?,
            ),
            None => break,
        }
    }
    Ok((head.freeze(), stream))
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare equal too.
fn matches_etag(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// A file's bytes (or 304/206/416), documented as binary content.
pub(super) struct FileResponse(Response);

impl IntoResponse for FileResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl OperationOutput for FileResponse {
    type Inner = ();

    fn operation_response(
        _ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Option<ApiResponse> {
        Some(binary("The file's bytes."))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<ApiStatus>, ApiResponse)> {
        let whole = Self::operation_response(ctx, operation);
        let mut responses: Vec<(Option<ApiStatus>, ApiResponse)> = whole
            .map(|r| vec![(Some(ApiStatus::Code(200)), r)])
            .unwrap_or_default();
        responses.push((
            Some(ApiStatus::Code(206)),
            binary("The requested byte range (`Range: bytes=…`)."),
        ));
        responses.push((
            Some(ApiStatus::Code(304)),
            ApiResponse {
                description: "Not modified: the `If-None-Match` tag is current.".to_owned(),
                ..ApiResponse::default()
            },
        ));
        responses.push((
            Some(ApiStatus::Code(416)),
            ApiResponse {
                description: "The range starts past the end of the file.".to_owned(),
                ..ApiResponse::default()
            },
        ));
        responses
    }
}

fn binary(description: &str) -> ApiResponse {
    let schema = serde_json::from_value::<schemars::Schema>(
        serde_json::json!({"type": "string", "format": "binary"}),
    )
    .unwrap_or_default();
    let mut response = ApiResponse {
        description: description.to_owned(),
        ..ApiResponse::default()
    };
    response.content.insert(
        "*/*".to_owned(),
        MediaType {
            schema: Some(aide::openapi::SchemaObject {
                json_schema: schema,
                external_docs: None,
                example: None,
            }),
            ..MediaType::default()
        },
    );
    response
}
