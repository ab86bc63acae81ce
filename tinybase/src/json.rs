//! Turning JSON values into typed Rust values with errors that name the bad field.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, FieldErrors};

/// Deserialises `value` into `T`; a mismatch is a 422 whose `details.fields` names the
/// offending field (or `body` when the whole value has the wrong type).
///
/// # Errors
/// 422 when `value` does not have `T`'s shape.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // Serde reports a missing field at its parent's path and an unknown one at its own.
        let field = match (field_named_in(&inner), path.as_str()) {
            (Some(name), ".") => name,
            (Some(name), path) if !path.ends_with(&name) => format!("{path}.{name}"),
            (_, ".") => "body".to_owned(),
            (_, path) => path.to_owned(),
        };
        let mut fields = FieldErrors::default();
        fields.add(field, inner.clone());
        Error::validation(
            format!("the request body does not have the expected shape: {inner}"),
            fields,
        )
    })
}

/// Serde names the field in backticks for "missing field `x`" and "unknown field `x`";
/// those errors sit at the parent's path, so the name must come from the message.
fn field_named_in(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_owned)
}
