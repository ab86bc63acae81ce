//! A blog backend on TinyBase: posts and comments stored as collections, and functions
//! that set the collections up, publish posts and report statistics.
//!
//! ```sh
//! TINYBASE_ADMIN_EMAIL=admin@example.com TINYBASE_ADMIN_PASSWORD=change-me-now \
//!   cargo run -p blog -- init
//! cargo run -p blog -- serve
//! # as the admin: POST /api/functions/install_blog   (creates the collections)
//! # as any user:  POST /api/collections/posts/records {"title": "...", "body": "..."}
//! #               POST /api/functions/publish_post    {"post_id": "..."}
//! # anyone:       POST /api/functions/blog_stats
//! ```

mod functions;

fn main() -> std::process::ExitCode {
    tinybase::run()
}
