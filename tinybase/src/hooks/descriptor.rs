//! What `#[tinybase::hook]` registers: the event, the collection, where the hook is
//! defined and a type-erased handler.

use std::fmt;

use crate::Result;
use crate::functions::BoxFuture;

use super::{AuthEvent, BeforeWrite, HookContext, RecordChange};

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookEvent {
    /// Before a record is created, inside the write transaction.
    BeforeCreate,
    /// After a record creation committed.
    AfterCreate,
    /// Before a record is changed, inside the write transaction.
    BeforeUpdate,
    /// After a record change committed.
    AfterUpdate,
    /// Before a record is deleted, inside the write transaction.
    BeforeDelete,
    /// After a record deletion committed.
    AfterDelete,
    /// After a user registered (with a password).
    AfterRegister,
    /// After a user signed in (with a password, or finishing a second factor).
    AfterLogin,
}

impl HookEvent {
    /// Every event, in the order the docs list them.
    pub const ALL: [Self; 8] = [
        Self::BeforeCreate,
        Self::AfterCreate,
        Self::BeforeUpdate,
        Self::AfterUpdate,
        Self::BeforeDelete,
        Self::AfterDelete,
        Self::AfterRegister,
        Self::AfterLogin,
    ];

    /// The name used in the attribute and the admin API: `before_create`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeCreate => "before_create",
            Self::AfterCreate => "after_create",
            Self::BeforeUpdate => "before_update",
            Self::AfterUpdate => "after_update",
            Self::BeforeDelete => "before_delete",
            Self::AfterDelete => "after_delete",
            Self::AfterRegister => "after_register",
            Self::AfterLogin => "after_login",
        }
    }

    /// True for the events of an account rather than of a collection's records.
    pub fn is_auth(self) -> bool {
        matches!(self, Self::AfterRegister | Self::AfterLogin)
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Runs a `before_*` hook on the writer thread, inside the write transaction.
pub type BeforeHandler = fn(&mut BeforeWrite<'_>) -> Result<()>;

/// Runs an `after_*` record hook on the async runtime, for one committed change.
pub type AfterHandler = fn(HookContext, RecordChange) -> BoxFuture<Result<()>>;

/// Runs an `after_register` / `after_login` hook on the async runtime.
pub type AuthHandler = fn(HookContext, AuthEvent) -> BoxFuture<Result<()>>;

/// The hook's code, by kind of event.
#[derive(Debug, Clone, Copy)]
pub enum HookHandler {
    /// For `before_create`, `before_update` and `before_delete`.
    Before(BeforeHandler),
    /// For `after_create`, `after_update` and `after_delete`.
    After(AfterHandler),
    /// For `after_register` and `after_login`.
    Auth(AuthHandler),
}

/// A registered hook. Built by `#[tinybase::hook]`; users rarely write one.
#[derive(Debug)]
pub struct HookDescriptor {
    /// The hook's name (the fn's name unless given): unique in the app, it keys the
    /// hook's progress through the change log.
    pub name: &'static str,
    /// The collection whose records it watches; empty for account events.
    pub collection: &'static str,
    /// When it runs.
    pub event: HookEvent,
    /// The Rust module that defines it.
    pub module_path: &'static str,
    /// The source file that defines it.
    pub file: &'static str,
    /// The line of the hook's fn name.
    pub line: u32,
    /// The type-erased entry point.
    pub handler: HookHandler,
}

impl HookDescriptor {
    /// `file:line`, for messages that send the developer to the hook.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

inventory::collect!(HookDescriptor);
