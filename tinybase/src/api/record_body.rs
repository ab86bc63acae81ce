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
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::extract::{is_json, not_json, parse_json, read_body};
use crate::Error;

/// Bodies up to this size are parsed at once, without taking from the budget.
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The budget, in KiB of large bodies being parsed and written at the same time.
const PARSE_BUDGET_KIB: usize = 8 * 1024;

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
    /// The body's size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        Ok(ParsedRecord {
            data: parse_json(&self.0)?,
            _budget: budget,
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for RecordBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        read_body(req, state).await.map(Self)
    }
}

impl OperationInput for RecordBody {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::Json::<Map<String, Value>>::operation_input(ctx, operation);
    }
}
