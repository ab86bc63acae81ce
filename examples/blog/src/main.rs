//! A blog backend on TinyBase: posts and comments stored as collections, functions that
//! set the collections up, publish posts and report statistics, a nightly digest that a
//! schedule runs into a collection declared in code (`digests`), and a hook that gives new
//! posts a slug made from their title.
//!
//! ```sh
//! TINYBASE_ADMIN_EMAIL=admin@example.com TINYBASE_ADMIN_PASSWORD=change-me-now \
//!   cargo run -p blog -- init
//! cargo run -p blog -- serve
//! # as the admin: POST /api/functions/install_blog   (creates posts and comments;
//! #               digests is declared in src/collections.rs and exists from the start)
//! # as any user:  POST /api/collections/posts/records {"title": "...", "body": "..."}
//! #               POST /api/functions/publish_post    {"post_id": "..."}
//! # anyone:       POST /api/functions/blog_stats
//! # as the admin: POST /api/admin/schedules
//! #   {"name": "Nightly digest", "function_name": "nightly_digest",
//! #    "schedule": {"method": "cron", "cron": "0 6 * * *", "timezone": "Europe/Berlin"}}
//! ```

mod collections;
mod functions;
mod hooks;

fn main() -> std::process::ExitCode {
    tinybase::run()
}
