//! `/api/files/…`: serving records' files, and short-lived file tokens for links that
//! cannot send an `Authorization` header.

pub mod download;
mod range;
pub mod token;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};

use crate::api::AppState;

const TAG: &str = "files";

/// The file routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/files/token",
            post_with(token::handler, |op| {
                op.tag(TAG).summary("Get a file token").description(
                    "A token valid for 5 minutes that file URLs accept as `?token=`, for \
                     `<img src>` and links, which cannot send an Authorization header. It \
                     opens only files, as the user who asked for it.",
                )
            }),
        )
        .api_route(
            "/api/files/{collection}/{record_id}/{filename}",
            get_with(download::handler, |op| {
                op.tag(TAG).summary("Download a file").description(
                    "Serves a file of a record the caller may view (the collection's \
                     `view_rule`; a bearer token or `?token=` from `POST /api/files/token`). \
                     `Content-Type` comes from the content; `ETag`/`If-None-Match` (304) and \
                     single byte ranges (206) work; types a browser could run (HTML, SVG, \
                     XML, scripts, …) and `?download=1` come as attachments. `?thumb=WxH` \
                     (`100x100` crops to fill, `0x300`/`300x0` keep the aspect ratio) serves \
                     a resized JPEG/PNG/WebP/GIF image, made once and kept; other files are \
                     served whole.",
                )
            }),
        )
}
