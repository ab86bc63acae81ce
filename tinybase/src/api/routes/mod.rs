//! One file (or folder) per route group; each exposes `routes()` returning its routes.

pub mod admin_backup;
pub mod admin_functions;
pub mod admin_schedules;
pub mod admin_users;
pub mod auth;
pub mod collections;
pub mod docs;
pub mod functions;
pub mod health;
pub mod realtime;
pub mod records;
