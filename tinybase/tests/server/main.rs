//! The server's behaviour over HTTP and on disk, for tests that register no functions,
//! hooks or code-first collections of their own and install no global log subscriber: one
//! test binary instead of one per file, which keeps the suite's build small and its
//! linking quick. Tests that register code (through `inventory`, which is global to a
//! binary) or capture the process's logs stay in binaries of their own, so what one does
//! can never change what another observes.

#![allow(missing_docs)]

#[path = "../common/mod.rs"]
mod common;

mod accounts_mail;
mod accounts_mfa;
mod accounts_oauth2;
mod accounts_oauth2_explicit;
mod accounts_oauth2_github;
mod admin_routes;
mod admin_ui;
mod admin_users;
mod auth;
mod batch;
mod change_log;
mod collections;
mod config_reference;
mod cursors;
mod expand;
mod files_s3;
mod hostile_inputs;
mod http_errors;
mod last_admin_races;
mod list_relations;
mod migrations;
mod openapi;
mod record_access;
mod record_filters;
mod record_limits;
mod records;
mod relations;
mod rule_check;
mod rule_expressions;
mod search;
mod webhooks;
