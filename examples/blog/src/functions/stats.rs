//! `blog_stats`: how much is on the blog.

use tinybase::collections::RecordQuery;
use tinybase::schemars::JsonSchema;
use tinybase::serde::Serialize;
use tinybase::{Context, Result};

/// Counts of the blog's content.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct BlogStats {
    /// Published posts.
    published_posts: u64,
    /// Posts not yet published.
    drafts: u64,
    /// Comments on all posts.
    comments: u64,
}

fn count_query(filter: &str) -> RecordQuery {
    RecordQuery {
        per_page: Some(1),
        filter: (!filter.is_empty()).then(|| filter.to_owned()),
        ..RecordQuery::default()
    }
}

/// Counts published posts, drafts and comments. Anyone may call it; it reads as the
/// system so drafts are counted even though only their authors may see them.
#[tinybase::function(auth = "public", tags = ["blog"])]
async fn blog_stats(ctx: Context) -> Result<BlogStats> {
    let records = ctx.records_as_system();
    let published = records
        .list("posts", count_query("published = true"))
        .await?;
    let drafts = records
        .list("posts", count_query("published != true"))
        .await?;
    let comments = records.list("comments", count_query("")).await?;
    Ok(BlogStats {
        published_posts: published.total_items,
        drafts: drafts.total_items,
        comments: comments.total_items,
    })
}
