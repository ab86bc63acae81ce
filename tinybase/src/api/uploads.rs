//! Receiving a multipart record body: the `data` part parsed like a JSON body, each file
//! part checked against its field's `max_size` and `mime_types` on the way and stored:
//! a small file in one write once it has arrived, a larger one streamed to storage chunk
//! by chunk (never held whole in memory).
//!
//! Each upload reserves its key in the durable deletion list before its first byte, so a
//! crash or an error at any point leaves nothing that a sweep would not delete.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};

use crate::api::AppState;
use crate::api::extract::{
    MultipartBody, ParsedRecord, REFUSED_BODY_READ_BYTES, REFUSED_BODY_READ_TIME, RecordBody,
};
use crate::collections::{
    FieldSpec, LoadedCollection, UploadedFile, check_file_type, empty_file, file_too_large,
};
use crate::storage::{FileStore, Upload, deletions, file_key, names, sniff};
use crate::{Error, ErrorKind, Result};

/// The most files one request may upload.
pub(crate) const MAX_FILES_PER_REQUEST: usize = 100;

/// Files up to this size are held until they end and stored with one write; larger ones
/// stream. A streamed upload costs several storage calls (and on local disk as many
/// hand-offs to blocking threads), where one write of a small file costs one.
const SMALL_FILE_BYTES: usize = 256 * 1024;

/// The name of the part that holds the record's JSON.
const DATA_PART: &str = "data";

/// What a multipart record body held: the data (with its share of the parse budget) and
/// the files now in storage.
pub(crate) struct Received {
    /// The record's data from the `data` part (empty without one).
    pub data: Map<String, Value>,
    /// The stored files, in the order they came.
    pub uploads: Vec<UploadedFile>,
    _budget: Option<ParsedRecord>,
}

/// Reads `form` for the record `record_id` of `loaded`, storing its files. On any error,
/// the files stored so far are deleted again.
///
/// # Errors
/// 400 for a malformed or truncated body, 408 when it does not arrive in time, 413 for a
/// file over its field's `max_size` (naming the field) or too many files, 422 for a part
/// that is not a file field or a file of a type the field does not take (naming the field).
pub(crate) async fn receive(
    state: &AppState,
    loaded: &Arc<LoadedCollection>,
    record_id: &str,
    form: MultipartBody,
) -> Result<Received> {
    let store = state.collections.file_store().clone();
    let mut keys = Vec::new();
    let mut multipart = multer::Multipart::new(form.body.into_data_stream(), form.boundary);
    let result = read_parts(state, &store, loaded, record_id, &mut multipart, &mut keys).await;
    if result.is_err() {
        deletions::delete_now(&state.db, &store, keys).await;
        drain(multipart).await;
    }
    result
}

/// Reads and drops what is left of a form refused part-way (a file too large or of the
/// wrong type), within the same bounds as [`MultipartBody::discard`] and for the same
/// reason: the client then reads the refusal instead of a reset connection.
async fn drain(mut multipart: multer::Multipart<'_>) {
    let read = async {
        let mut seen = 0;
        while let Ok(Some(mut part)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = part.chunk().await {
                seen += chunk.len();
                if seen >= REFUSED_BODY_READ_BYTES {
                    return;
                }
            }
        }
    };
    // Timing out only ends the reading; the refusal is answered either way.
    let _ = tokio::time::timeout(REFUSED_BODY_READ_TIME, read).await;
}

async fn read_parts(
    state: &AppState,
    store: &FileStore,
    loaded: &Arc<LoadedCollection>,
    record_id: &str,
    multipart: &mut multer::Multipart<'_>,
    keys: &mut Vec<String>,
) -> Result<Received> {
    let data_limit = state
        .collections
        .record_body_limit(&loaded.collection.name)?
        .min(state.settings.server.body_limit_bytes);
    let mut data: Option<ParsedRecord> = None;
    let mut uploads = Vec::new();
    while let Some(mut part) = multipart.next_field().await.map_err(malformed)? {
        let field = part.name().unwrap_or_default().to_owned();
        if field == DATA_PART {
            if data.is_some() {
                return Err(Error::bad_request("the form has more than one `data` part"));
            }
            let bytes = read_data(&mut part, data_limit).await?;
            data = Some(RecordBody::from_bytes(bytes).parse().await?);
            continue;
        }
        let Some(spec) = loaded
            .compiled
            .schema()
            .field(&field)
            .filter(|f| f.field_type.is_file())
        else {
            let message = if field.is_empty() {
                "every part of the form needs a name: `data` or a file field".to_owned()
            } else {
                "is not a file field of this collection; send record fields in the `data` \
                 part as JSON"
                    .to_owned()
            };
            return Err(Error::invalid_field(field, message));
        };
        // An empty file input in an HTML form is sent as a part with an empty file name.
        let original = part.file_name().unwrap_or(field.as_str()).to_owned();
        if part.file_name() == Some("") {
            while part.chunk().await.map_err(malformed)?.is_some() {}
            continue;
        }
        if uploads.len() >= MAX_FILES_PER_REQUEST {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("one request may upload at most {MAX_FILES_PER_REQUEST} files"),
            ));
        }
        let name = names::stored_name(&original)?;
        let key = file_key(&loaded.collection.id, record_id, &name);
        deletions::reserve(&state.db, key.clone()).await?;
        keys.push(key.clone());
        store_part(&mut part, store, &key, spec, &original).await?;
        uploads.push(UploadedFile { field, name });
    }
    Ok(Received {
        data: data
            .as_mut()
            .map(|d| std::mem::take(&mut d.data))
            .unwrap_or_default(),
        uploads,
        _budget: data,
    })
}

/// Stores one file part under `key`, checking its size on every chunk and its type from
/// the first bytes before any byte is stored. A file that ends within
/// [`SMALL_FILE_BYTES`] (most images and documents) is stored with one write; a larger one
/// streams to storage as it arrives, so memory stays bounded whatever its size.
async fn store_part(
    part: &mut multer::Field<'_>,
    store: &FileStore,
    key: &str,
    spec: &FieldSpec,
    original: &str,
) -> Result<()> {
    let mut streaming: Option<Upload> = None;
    let held = match read_part(part, store, key, spec, original, &mut streaming).await {
        Ok(held) => held,
        Err(err) => {
            if let Some(upload) = streaming {
                upload.abort().await;
            }
            return Err(err);
        }
    };
    match streaming {
        Some(upload) => upload.finish().await,
        None => store.put(key, held).await,
    }
}

/// Reads `part` for [`store_part`]: returns the whole file when it stayed small, or
/// starts `streaming` it (to `key`) once it grows past [`SMALL_FILE_BYTES`] and returns
/// nothing more to store.
async fn read_part(
    part: &mut multer::Field<'_>,
    store: &FileStore,
    key: &str,
    spec: &FieldSpec,
    original: &str,
    streaming: &mut Option<Upload>,
) -> Result<Bytes> {
    let max = spec.max_file_size();
    let mut held = BytesMut::new();
    let mut checked = false;
    let mut size: u64 = 0;
    while let Some(chunk) = part.chunk().await.map_err(malformed)? {
        size += chunk.len() as u64;
        if size > max {
            return Err(file_too_large(spec));
        }
        if let Some(upload) = streaming.as_mut() {
            upload.write(chunk).await?;
            continue;
        }
        held.extend_from_slice(&chunk);
        if !checked && held.len() >= sniff::SNIFF_BYTES {
            check_file_type(spec, &held, original)?;
            checked = true;
        }
        if checked && held.len() > SMALL_FILE_BYTES {
            let upload = streaming.insert(store.upload(key).await?);
            upload.write(held.split().freeze()).await?;
        }
    }
    if size == 0 {
        return Err(empty_file(spec));
    }
    if !checked {
        check_file_type(spec, &held, original)?;
    }
    Ok(held.freeze())
}

/// Reads the `data` part whole, within `limit` bytes.
async fn read_data(part: &mut multer::Field<'_>, limit: usize) -> Result<Bytes> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = part.chunk().await.map_err(malformed)? {
        if bytes.len() + chunk.len() > limit {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("the `data` part is larger than this collection accepts ({limit} bytes)"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// 400 for a body that is not a well-formed multipart form (or ends too soon), 408 when
/// it did not arrive in time.
fn malformed(err: multer::Error) -> Error {
    if let multer::Error::StreamReadFailed(cause) = &err
        && crate::api::extract::timed_out(cause.as_ref())
    {
        return crate::api::extract::body_timeout();
    }
    Error::bad_request(format!("the multipart/form-data body is malformed: {err}"))
}
