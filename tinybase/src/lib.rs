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
pub mod code_first;
pub mod collections;
pub mod config;
mod constants;
pub mod db;
mod error;
pub mod functions;
pub mod hooks;
mod json;
pub mod mail;
mod memory;
pub mod pagination;
pub mod realtime;
pub mod replication;
pub mod scheduling;
pub mod storage;
pub mod text;
pub mod webhooks;
#[doc(hidden)]
pub mod __private {
    //! Used by generated code only.
    pub use crate::private::*;
}
mod private;
mod scaffold;

pub use app::{App, Tinybase, shutdown_signal};
pub use cli::run;
pub use code_first::{Relation, TypedRecord as Record};
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

/// Registers a Rust hook on a collection's record writes (`before_create`,
/// `after_create`, `before_update`, `after_update`, `before_delete`, `after_delete`) or on
/// account events (`after_register`, `after_login`).
///
/// `before_*` hooks run inside the write's transaction and may change the data or refuse
/// the write with an [`Error`]; `after_*` hooks run after the commit, from the change log,
/// at least once. The README's "Hooks" section has examples.
// One `pub use` per macro: rustdoc repeats a doc comment's examples for every item of a
// `use` list, and repeated examples would register the same function twice.
pub use tinybase_macros::hook;

/// A collection declared by a Rust struct; `#[derive(tinybase::Collection)]` implements it.
/// See [`code_first`] and the README's "Collections in code" section.
pub use code_first::Collection;

/// Declares a collection in code from a serde struct: its name and rules from
/// `#[collection(...)]`, its fields from the struct's fields, their types from the Rust
/// types and their constraints from `#[field(...)]`. `run()` (any [`App::build`]) creates
/// the collection at start, or migrates it when every stored record stays valid.
///
/// ```
/// use tinybase::serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, tinybase::Select)]
/// #[serde(crate = "tinybase::serde", rename_all = "snake_case")]
/// enum Status { Draft, Published }
///
/// #[derive(Serialize, Deserialize, tinybase::Collection)]
/// #[serde(crate = "tinybase::serde")]
/// #[collection(name = "articles", list_rule = "status = 'published'", create_rule = "auth")]
/// struct Article {
///     #[field(min_length = 1, max_length = 200)]
///     title: String,
///     #[field(type = "text")]
///     body: Option<String>,
///     #[field(unique, indexed, pattern = "^[a-z0-9-]+$")]
///     slug: String,
///     status: Status,
///     #[field(min = 0, max = 5)]
///     rating: Option<i64>,
/// }
///
/// let definition = <Article as tinybase::Collection>::definition();
/// assert_eq!(definition.name, "articles");
/// let status = definition.schema.field("status").unwrap();
/// assert_eq!(status.values.as_deref(), Some(&["draft".to_owned(), "published".to_owned()][..]));
/// assert!(!definition.schema.field("body").unwrap().required);
/// ```
///
/// # `#[collection(...)]` on the struct
///
/// | key | meaning | default |
/// | --- | --- | --- |
/// | `name = "…"` (required) | the collection's name, `^[a-z][a-z0-9_]{0,62}$` | |
/// | `label = "…"` | the name shown in the admin UI | none |
/// | `list_rule`, `view_rule`, `create_rule`, `update_rule`, `delete_rule` `= "…"` | access rules: `public`, `auth`, `owner`, `admin` or an expression | as for any collection |
/// | `max_record_bytes = N` | the largest record, in bytes | 1 MiB |
///
/// # `#[field(...)]` on a field
///
/// `min_length = N`, `max_length = N`, `min = X`, `max = X`, `pattern = "…"`,
/// `default = <literal>`, `unique`, `indexed`, `on_delete = "restrict" | "cascade" |
/// "set_null"` (relations), `type = "text" | "email" | "url"` (refines a `String`). A
/// field is required unless its type is `Option<…>`. The field types come from the Rust
/// types: see [`code_first::FieldKind`]. Unknown keys, bad values and unsupported types
/// are compile errors.
// A derive and the trait of the same name live in different namespaces, like serde's.
pub use tinybase_macros::Collection;

/// Makes an enum of unit variants a `select` field of a code-first collection; its values
/// are the variants as serde writes them (so `#[serde(rename_all = "…")]` applies).
pub use tinybase_macros::Select;

pub use chrono;
pub use schemars;
pub use serde;
pub use serde_json;
