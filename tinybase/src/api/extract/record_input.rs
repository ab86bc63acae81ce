//! A record create or update body: JSON, or `multipart/form-data` with a `data` part
//! holding the JSON and one part per uploaded file, named after its field.
//!
//! A multipart body is not read here: the handler first checks that the caller may write
//! the record, then streams each file to storage (see `api/uploads.rs`).

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{MediaType, Operation, ReferenceOr, SchemaObject};
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::json;

use super::RecordBody;
use crate::Error;
use crate::api::AppState;

/// A record body as sent: JSON, or a multipart form with files.
#[derive(Debug)]
pub enum RecordInput {
    /// `application/json`: the record's data.
    Json(RecordBody),
    /// `multipart/form-data`: data and files, not yet read.
    Multipart(MultipartBody),
}

/// An unread `multipart/form-data` body and its boundary.
#[derive(Debug)]
pub struct MultipartBody {
    /// The boundary from the `Content-Type` header.
    pub boundary: String,
    /// The body, to be streamed.
    pub body: Body,
}

/// How much of a refused multipart body is read (and dropped) before the answer.
pub(crate) const REFUSED_BODY_READ_BYTES: usize = 1 << 20;

/// How long reading a refused multipart body may take before the answer.
pub(crate) const REFUSED_BODY_READ_TIME: std::time::Duration = std::time::Duration::from_secs(2);

impl MultipartBody {
    /// Reads and drops what is left of a body the server refuses without looking at it
    /// (the caller may not write here, the collection is unknown), up to 1 MiB and 2 s.
    ///
    /// Why: answering before the client has sent its body closes the connection with
    /// unread bytes in it, and the TCP reset that follows can reach the client before the
    /// answer, so it sees a broken connection instead of the 401. Small uploads (the
    /// usual case) are read whole and get a clean answer; a large one is still cut off
    /// after 1 MiB, so a refused request never costs more than that.
    pub async fn discard(self) {
        use futures_util::StreamExt;

        let mut stream = self.body.into_data_stream();
        let read = async {
            let mut seen = 0;
            while let Some(Ok(chunk)) = stream.next().await {
                seen += chunk.len();
                if seen >= REFUSED_BODY_READ_BYTES {
                    break;
                }
            }
        };
        // Timing out only ends the reading; the refusal is answered either way.
        let _ = tokio::time::timeout(REFUSED_BODY_READ_TIME, read).await;
    }
}

impl FromRequest<AppState> for RecordInput {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        if !is_multipart(req.headers()) {
            return RecordBody::from_request(req, state).await.map(Self::Json);
        }
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary = multer::parse_boundary(content_type).map_err(|_| {
            Error::bad_request("a multipart/form-data body needs a boundary in its Content-Type")
        })?;
        Ok(Self::Multipart(MultipartBody {
            boundary,
            body: req.into_body(),
        }))
    }
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"))
}

impl OperationInput for RecordInput {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        RecordBody::operation_input(ctx, operation);
        let Some(ReferenceOr::Item(body)) = operation.request_body.as_mut() else {
            return;
        };
        body.content.insert(
            "multipart/form-data".to_owned(),
            multipart_media_type(json!({
                "type": "object",
                "description": "With files: `data` holds the record's JSON; each file \
                    field's files come as parts named after the field (repeat the name for \
                    `list[file]`).",
                "properties": {
                    "data": {"type": "string", "description": "The record's data as JSON."},
                },
                "additionalProperties": {"type": "string", "format": "binary"},
            })),
        );
    }
}

/// A `multipart/form-data` media type with `schema`; the `data` part is JSON.
fn multipart_media_type(schema: serde_json::Value) -> MediaType {
    let schema = serde_json::from_value::<schemars::Schema>(schema).unwrap_or_default();
    let mut media = MediaType {
        schema: Some(SchemaObject {
            json_schema: schema,
            external_docs: None,
            example: None,
        }),
        ..MediaType::default()
    };
    media.encoding.insert(
        "data".to_owned(),
        aide::openapi::Encoding {
            content_type: Some("application/json".to_owned()),
            ..aide::openapi::Encoding::default()
        },
    );
    media
}
