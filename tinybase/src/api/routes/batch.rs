//! `POST /api/batch`: up to 100 record writes in one transaction, all or nothing.

use aide::axum::ApiRouter;
use aide::axum::routing::post_with;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::AppState;
use crate::api::extract::{AnyCaller, Json};
use crate::collections::{
    BatchOperation, BatchOutcome, MAX_BATCH_OPERATIONS, batch_error_at, check_batch_size,
};
use crate::{Error, Result};

/// Record writes to run together.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The writes, run in order (1 to 100).
    #[schemars(length(min = 1, max = MAX_BATCH_OPERATIONS))]
    pub requests: Vec<BatchItem>,
}

/// One record write, written as the request it stands for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// `POST` (create), `PATCH` (change) or `DELETE`.
    pub method: String,
    /// `/api/collections/{name}/records` to create, `/api/collections/{name}/records/{id}`
    /// to change or delete.
    pub url: String,
    /// The record's data (create) or the changes (change); ignored for a delete.
    #[serde(default)]
    pub body: Option<Map<String, Value>>,
}

/// The answers, one per request and in the same order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchResponse {
    /// What each request did.
    pub responses: Vec<BatchItemResponse>,
}

/// What one request did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchItemResponse {
    /// The status it would have answered alone: 201, 200 or 204.
    pub status: u16,
    /// The created or changed record; null for a delete.
    pub body: Option<crate::collections::Record>,
}

async fn handler(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Json(request): Json<BatchRequest>,
) -> Result<axum::Json<BatchResponse>> {
    // The count first, so more than 100 requests get the same 422 however they are
    // written.
    check_batch_size(request.requests.len())?;
    let operations = request
        .requests
        .into_iter()
        .enumerate()
        .map(|(index, item)| operation(item).map_err(|err| batch_error_at(err, index)))
        .collect::<Result<Vec<_>>>()?;
    let outcomes = state.collections.batch(&caller, operations).await?;
    let responses = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            BatchOutcome::Created(record) => BatchItemResponse {
                status: 201,
                body: Some(record),
            },
            BatchOutcome::Updated(record) => BatchItemResponse {
                status: 200,
                body: Some(record),
            },
            BatchOutcome::Deleted => BatchItemResponse {
                status: 204,
                body: None,
            },
        })
        .collect();
    Ok(axum::Json(BatchResponse { responses }))
}

/// The record write `item` stands for.
///
/// # Errors
/// 400 for a URL outside the record paths, a method the URL does not take, or a create
/// or change without a body.
fn operation(item: BatchItem) -> Result<BatchOperation> {
    let BatchItem { method, url, body } = item;
    let target = record_url(&url).ok_or_else(|| {
        Error::bad_request(format!(
            "`{url}` is not a record URL: a batch holds only \
             /api/collections/{{name}}/records[/{{id}}] requests"
        ))
    })?;
    let method = method.to_ascii_uppercase();
    let needs_body = |body: Option<Map<String, Value>>| {
        body.ok_or_else(|| Error::bad_request(format!("a {method} request needs a body")))
    };
    match (method.as_str(), target) {
        ("POST", (collection, None)) => Ok(BatchOperation::Create {
            collection,
            data: needs_body(body)?,
        }),
        ("PATCH", (collection, Some(id))) => Ok(BatchOperation::Update {
            collection,
            id,
            patch: needs_body(body)?,
        }),
        ("DELETE", (collection, Some(id))) => Ok(BatchOperation::Delete { collection, id }),
        _ => Err(Error::bad_request(format!(
            "{method} {url} is not a record write: use POST on a collection's records, \
             PATCH or DELETE on one record"
        ))),
    }
}

/// `(collection, id)` of `/api/collections/{collection}/records[/{id}]`; `None` for any
/// other URL (query strings included).
fn record_url(url: &str) -> Option<(String, Option<String>)> {
    let rest = url.strip_prefix("/api/collections/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match parts.as_slice() {
        [collection, "records"] if valid(collection) => Some(((*collection).to_owned(), None)),
        [collection, "records", id] if valid(collection) && valid(id) => {
            Some(((*collection).to_owned(), Some((*id).to_owned())))
        }
        _ => None,
    }
}

/// The batch route.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/api/batch",
        post_with(handler, |op| {
            op.tag("records")
                .summary("Run record writes together")
                .description(
                    "Up to 100 creates (`POST /api/collections/{name}/records`), changes \
                 (`PATCH …/records/{id}`) and deletes (`DELETE …/records/{id}`) in one \
                 transaction, each with the rules and validation it gets alone, in order. \
                 All are applied or none: the first failing request's error is answered, \
                 with `details.index` naming it (from 0). 422 for more than 100 requests; \
                 400 for a URL outside the record paths.",
                )
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_record_urls_are_taken() {
        assert_eq!(
            record_url("/api/collections/posts/records"),
            Some(("posts".to_owned(), None))
        );
        assert_eq!(
            record_url("/api/collections/posts/records/abc-1"),
            Some(("posts".to_owned(), Some("abc-1".to_owned())))
        );
        for url in [
            "/api/collections",
            "/api/collections/posts",
            "/api/collections/posts/records/",
            "/api/collections/posts/records?filter=x",
            "/api/collections/posts/records/a/b",
            "/api/collections/../records",
            "/api/admin/users",
            "api/collections/posts/records",
            "http://example.com/api/collections/posts/records",
        ] {
            assert_eq!(record_url(url), None, "{url}");
        }
    }
}
