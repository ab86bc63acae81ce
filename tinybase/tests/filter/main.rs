//! The record filter and sort language: exact SQL for every operator and type, errors for
//! malformed and hostile input, compiled filters run against a real SQLite table, and
//! property tests over generated input.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod errors;
mod execute;
mod props;
mod sort;
mod sql;
mod support;
