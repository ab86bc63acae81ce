//! One file (or folder) per route group; each exposes `routes()` returning its routes.

pub mod accounts;
pub mod admin_backup;
pub mod admin_functions;
pub mod admin_hooks;
pub mod admin_replication;
pub mod admin_schedules;
pub mod admin_users;
pub mod admin_webhooks;
pub mod auth;
pub mod batch;
pub mod collections;
pub mod docs;
pub mod files;
pub mod functions;
pub mod health;
pub mod mfa;
pub mod oauth2;
pub mod realtime;
pub mod records;
