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
mod cli;
pub mod collections;
pub mod config;
mod constants;
pub mod db;
mod error;
pub mod functions;
mod json;
pub mod pagination;
#[doc(hidden)]
pub mod __private {
    //! Used by generated code only.
    pub use crate::private::*;
}
mod private;
mod scaffold;
pub mod scheduling;

pub use app::{App, Tinybase, shutdown_signal};
pub use cli::run;
pub use error::{Error, ErrorKind, FieldErrors, Result};
pub use functions::Context;

pub use schemars;
pub use serde;
pub use serde_json;
