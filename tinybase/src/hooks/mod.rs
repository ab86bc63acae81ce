//! Rust hooks on record writes and account events (`#[tinybase::hook]`).
//!
//! `before_*` hooks run inside the write transaction on the database writer thread: they
//! may change the data (validated after them) or refuse the write with an [`Error`],
//! whose status and message reach the client; nothing is written then. They are bounded
//! in time. `after_*` record hooks run after the commit, from the change log, at least
//! once, with their progress persisted (see [`after`]). `after_register` and
//! `after_login` run after the account write committed.
//!
//! [`Error`]: crate::Error

pub mod after;
mod before;
mod context;
mod descriptor;
mod registry;

pub use after::HookStatus;
pub use before::{BeforeWrite, Driver};
pub use context::{AuthEvent, HookContext, RecordChange};
pub use descriptor::{
    AfterHandler, AuthHandler, BeforeHandler, HookDescriptor, HookEvent, HookHandler,
};
pub use registry::Hooks;
