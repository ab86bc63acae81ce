//! What `#[tinybase::function]` registers: a function's metadata, its schemas and a
//! type-erased handler.

use std::future::Future;
use std::pin::Pin;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Context;
use crate::Result;

/// A boxed, sendable future: what type-erased handlers return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs a function: decodes the JSON input, calls the user's code, encodes the output.
pub type Handler = fn(Context, Value) -> BoxFuture<Result<Value>>;

/// Produces a JSON Schema (usually a `$ref`) for a type.
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// Who may call a function over HTTP. Scheduled runs are not limited by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthLevel {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    Auth,
    /// Admins only.
    Admin,
}

impl AuthLevel {
    /// The name used in attributes and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Auth => "auth",
            Self::Admin => "admin",
        }
    }
}

/// A registered function. Built by `#[tinybase::function]`; users rarely write one.
#[derive(Debug)]
pub struct FunctionDescriptor {
    /// The name callers use: `POST /api/functions/{name}`.
    pub name: &'static str,
    /// What it does (the doc comment unless given explicitly).
    pub description: &'static str,
    /// Who may call it over HTTP.
    pub auth: AuthLevel,
    /// Groups for docs and the admin UI.
    pub tags: &'static [&'static str],
    /// A timeout overriding `functions.timeout_seconds`; `Some(0)` means none.
    pub timeout_seconds: Option<u64>,
    /// The Rust module that defines it.
    pub module_path: &'static str,
    /// The source file that defines it.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
    /// The input type's schema; `None` when the function takes only a `Context`.
    pub input_schema: Option<SchemaFn>,
    /// The output type's schema.
    pub output_schema: SchemaFn,
    /// Checks an input without running the function (for schedules' saved inputs): the
    /// same decoding the call does, so it accepts exactly what a call would.
    pub validate_input: fn(&Value) -> Result<()>,
    /// The type-erased entry point.
    pub handler: Handler,
}

inventory::collect!(FunctionDescriptor);
