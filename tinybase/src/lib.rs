//! # TinyBase
//!
//! A self-hosted backend in one binary: auth with opaque bearer tokens, collections of
//! validated JSON records in SQLite, typed Rust functions served over HTTP, schedules,
//! OpenAPI docs and an admin UI.
//!
//! The smallest app is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     tinybase::run()
//! }
//! ```
//!
//! `run()` is the command line (`init`, `serve`, `admin create`). To configure in code or
//! to get a router for tests, use [`App`].

// Generated code names `::tinybase::…`; this makes those paths resolve inside this crate.
extern crate self as tinybase;

pub mod api;
mod app;
pub mod auth;
pub mod changes;
mod cli;
pub mod collections;
pub mod config;
mod constants;
pub mod db;
mod error;
pub mod functions;
mod json;
pub mod pagination;
pub mod realtime;
pub mod scheduling;
pub mod text;
#[doc(hidden)]
pub mod __private {
    //! Used by generated code only.
    pub use crate::private::*;
}
mod private;
mod scaffold;

pub use app::{App, Tinybase, shutdown_signal};
pub use cli::run;
pub use error::{Error, ErrorKind, FieldErrors, Result};
pub use functions::Context;

/// Registers a function that TinyBase serves at `POST /api/functions/{name}` and that
/// schedules can run.
///
/// Put it on an `async fn` or a plain `fn` that takes a [`functions::Context`] and, when it
/// has one, an input, and returns [`Result<Output>`](Result):
///
/// ```
/// use tinybase::functions::Context;
/// use tinybase::schemars::JsonSchema;
/// use tinybase::serde::{Deserialize, Serialize};
///
/// // Without serde or schemars in your own Cargo.toml, point the derives at TinyBase's
/// // re-exports with `#[serde(crate = …)]` and `#[schemars(crate = …)]`.
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(crate = "tinybase::serde")]
/// #[schemars(crate = "tinybase::schemars")]
/// struct AddInput {
///     x: i64,
///     y: i64,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// #[serde(crate = "tinybase::serde")]
/// #[schemars(crate = "tinybase::schemars")]
/// struct Sum {
///     sum: i64,
/// }
///
/// /// Adds two numbers.
/// #[tinybase::function(auth = "public", tags = ["math"])]
/// async fn add(_ctx: Context, AddInput { x, y }: AddInput) -> tinybase::Result<Sum> {
///     Ok(Sum { sum: x + y })
/// }
///
/// /// Who is calling. A plain `fn` runs on the blocking pool, so it may block.
/// #[tinybase::function(name = "whoami", timeout = 5)]
/// fn current_user(ctx: Context) -> tinybase::Result<Option<String>> {
///     Ok(ctx.user_id().map(str::to_owned))
/// }
///
/// # fn main() {
/// let registry = tinybase::functions::FunctionRegistry::collect().unwrap();
/// let add = registry.get("add").unwrap();
/// assert_eq!(add.description, "Adds two numbers.");
/// assert!(registry.get("whoami").unwrap().input_schema.is_none());
/// # }
/// ```
///
/// # Arguments
///
/// All optional:
///
/// | key | meaning | default |
/// | --- | --- | --- |
/// | `name = "…"` | the name in the URL; `^[a-z][a-z0-9_]{0,62}$` | the fn's name |
/// | `description = "…"` | shown in the API docs and the admin UI | the doc comment |
/// | `auth = "…"` | who may call it over HTTP: `"public"`, `"auth"` (signed in) or `"admin"` | `"auth"` |
/// | `tags = ["…", …]` | groups in the API docs and the admin UI | none |
/// | `timeout = N` | seconds before the call fails with a timeout | `functions.timeout_seconds` |
///
/// # Signature
///
/// - `(ctx: Context)` or `(ctx: Context, input: Input)`; parameters may be patterns
///   (`_ctx`, `AddInput { x, y }`). `Input` implements `Deserialize` and `JsonSchema`. A
///   function without an input accepts no body, `null` or `{}`.
/// - The return type is `tinybase::Result<Output>` or any `Result<Output, E>` with
///   `E: Into<tinybase::Error>` (aliases work). `Output` implements `Serialize` and
///   `JsonSchema`.
/// - An `async fn` is awaited; a plain `fn` runs on the blocking pool. Not supported:
///   generics, `self`, `const`, `unsafe` and `extern` functions.
///
/// The function itself is left as written: call it directly in your tests. Input that
/// does not match `Input` is rejected with a 422 naming the field; a panic becomes a 500
/// and a failed call record.
///
/// # Registration
///
/// Functions register themselves wherever they are defined: any module of your binary,
/// public or private, examples and integration tests. A function in a separate library
/// crate registers only if the binary links it: write `use my_functions as _;`. Two
/// functions with the same name stop start-up with an error naming both.
pub use tinybase_macros::function;

pub use schemars;
pub use serde;
pub use serde_json;
