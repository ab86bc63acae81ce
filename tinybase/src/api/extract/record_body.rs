//! Record bodies: read whole, sized up against the collection, parsed under a budget.
//!
//! Parsing JSON into `serde_json` values takes many times the body's size in memory (a
//! 10 MB array of small numbers took about 320 MB), so a handful of large creates at once
//! could exhaust the server. Large bodies therefore wait for a share of one process-wide
//! parse budget before they are parsed, and keep it until the request is answered, which
//! bounds the memory that large records hold at any moment. Small bodies, the usual case,
//! never wait.

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::Operation;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::body::{body_timeout, is_json, not_json, parse_json, timed_out};
use crate::api::AppState;
use crate::{Error, ErrorKind};

/// Bodies up to this size are parsed at once, without taking from the budget.
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The budget, in KiB of large bodies being parsed and written at the same time. Parsed
/// JSON takes up to about 30 times its text, so this bounds that memory to tens of MiB.
const PARSE_BUDGET_KIB: usize = 2 * 1024;

/// Shared by every large record body in the process.
static PARSE_BUDGET: Semaphore = Semaphore::const_new(PARSE_BUDGET_KIB);

/// A record's JSON body, read (within the server's body limit) but not yet parsed.
#[derive(Debug)]
pub struct RecordBody(Bytes);

/// A parsed record body and its share of the parse budget, to hold until answered.
pub struct ParsedRecord {
    /// The record's fields.
    pub data: Map<String, Value>,
    _budget: Option<SemaphorePermit<'static>>,
}

impl RecordBody {
    /// A body already read, such as the `data` part of a multipart form.
    pub(crate) fn from_bytes(bytes: Bytes) -> Self {
        Self(bytes)
    }

    /// Waits for room in the parse budget (large bodies only), then parses.
    ///
    /// # Errors
    /// 400 for bytes that are not JSON, 422 for JSON that is not an object.
    pub async fn parse(self) -> Result<ParsedRecord, Error> {
        let budget = if self.0.len() > SMALL_BODY_BYTES {
            // A body larger than the whole budget takes all of it: it then parses alone.
            let kib = self.0.len().div_ceil(1024).min(PARSE_BUDGET_KIB);
            let kib = u32::try_from(kib).unwrap_or(u32::MAX);
            let permit = PARSE_BUDGET
                .acquire_many(kib)
                .await
                .map_err(|_| Error::internal("the record parse budget was closed"))?;
            Some(permit)
        } else {
            None
        };
        let data = if budget.is_some() {
            // Parsing a large body takes long enough (tens of ms per MiB) to hold up every
            // other request on this async worker, health checks included: parse it on a
            // blocking thread instead.
            let bytes = self.0;
            tokio::task::spawn_blocking(move || parse_json(&bytes))
                .await
                .map_err(|err| Error::internal(format!("parsing a record body failed: {err}")))??
        } else {
            parse_json(&self.0)?
        };
        Ok(ParsedRecord {
            data,
            _budget: budget,
        })
    }
}

impl FromRequest<AppState> for RecordBody {
    type Rejection = Error;

    /// Reads no more of the body than the collection could store (and the server's body
    /// limit allows): a body announced or found to be larger is refused with 413 as soon
    /// as that is known, so a huge upload is never held in memory.
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        let (mut parts, body) = req.into_parts();
        let Path(path) = Path::<RecordsPathName>::from_request_parts(&mut parts, state)
            .await
            .map_err(|rejection| Error::bad_request(rejection.body_text()))?;
        let collections = &state.collections;
        let limit = collections
            .record_body_limit(&path.name)?
            .min(state.settings.server.body_limit_bytes);
        let announced = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if let Some(length) = announced.filter(|length| *length > limit) {
            return Err(too_large(state, &path.name, length));
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(Self(collected.to_bytes())),
            Err(err) if err.is::<LengthLimitError>() => {
                Err(too_large(state, &path.name, limit.saturating_add(1)))
            }
            Err(err) if timed_out(&*err) => Err(body_timeout()),
            Err(err) => Err(Error::bad_request(format!(
                "could not read the request body: {err}"
            ))),
        }
    }
}

/// The 413 for a record body of `bytes` bytes: the collection's own message when its
/// size limit is what the body broke, else the server's.
fn too_large(state: &AppState, collection: &str, bytes: usize) -> Error {
    match state.collections.check_record_body(collection, bytes) {
        Err(err) => err,
        Ok(()) => Error::new(
            ErrorKind::PayloadTooLarge,
            "the request body is larger than the server accepts",
        ),
    }
}

/// The collection name in a record route's path.
#[derive(Deserialize)]
struct RecordsPathName {
    name: String,
}

impl OperationInput for RecordBody {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::Json::<Map<String, Value>>::operation_input(ctx, operation);
    }
}
