//! Path parameters whose failures use the error envelope: a parameter that cannot be read
//! is a 400 instead of axum's plain-text rejection.

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::Operation;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::Error;

/// Path parameters of type `T`; a parameter that cannot be read (such as `%FF`, which is
/// not UTF-8) is a 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                if rejection.status().is_server_error() {
                    // A route whose pattern and type disagree: our bug, not the client's.
                    Error::internal(format!("path extraction: {}", rejection.body_text()))
                } else {
                    Error::bad_request(format!("bad path: {}", rejection.body_text()))
                }
            })
    }
}

impl<T: JsonSchema> OperationInput for Path<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::extract::Path::<T>::operation_input(ctx, operation);
    }
}
