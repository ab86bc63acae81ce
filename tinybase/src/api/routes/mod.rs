//! One file per route group; each exposes `routes()` returning its documented routes.

pub mod admin_users;
pub mod auth;
pub mod docs;
pub mod health;
