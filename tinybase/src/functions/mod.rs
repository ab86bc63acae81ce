//! Typed Rust functions served over HTTP and run by schedules.
//!
//! `#[tinybase::function]` registers a function; [`FunctionRegistry`] collects them at
//! start-up; [`Executor`] runs them with access checks, timeouts and panic containment,
//! writing one [`FunctionCall`] record per execution.

pub mod calls;
mod catalog;
mod context;
mod descriptor;
mod executor;
mod registry;

pub use calls::{CallFilter, CallStatus, Calls, FunctionCall};
pub use catalog::{AdminFunctionInfo, FunctionCatalog, FunctionInfo};
pub use context::{Context, Records, Trigger};
pub use descriptor::{AuthLevel, BoxFuture, FunctionDescriptor, Handler, SchemaFn};
pub use executor::{CallResult, Executor, Invocation};
pub use registry::FunctionRegistry;
