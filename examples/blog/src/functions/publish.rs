//! `publish_post`: marks one of the caller's posts as published.

use tinybase::collections::Record;
use tinybase::schemars::JsonSchema;
use tinybase::serde::Deserialize;
use tinybase::serde_json::json;
use tinybase::{Context, Error, Result};

/// Which post to publish.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct PublishInput {
    /// The post's record id.
    post_id: String,
}

/// Publishes a post: sets `published`, stamps `published_at` and announces it on the
/// `announcements` realtime channel. Only the post's author
/// (or an admin) may publish it — the `posts` update rule is `owner`, and the function
/// acts as its caller.
#[tinybase::function(auth = "auth", tags = ["blog"])]
async fn publish_post(ctx: Context, input: PublishInput) -> Result<Record> {
    let post = ctx.records().get("posts", &input.post_id).await?;
    if post.data.get("published") == Some(&json!(true)) {
        return Err(Error::conflict("the post is already published"));
    }
    let published_at = tinybase::db::format_timestamp(ctx.now());
    let published = ctx
        .records()
        .update(
            "posts",
            &post.id,
            json!({"published": true, "published_at": published_at}),
        )
        .await?;
    // Readers following the `announcements` channel hear of it at once (nothing is kept
    // for those who are not listening: the post itself is the record of it).
    ctx.realtime().publish(
        "announcements",
        &json!({"post_id": published.id, "title": published.data.get("title")}),
    );
    Ok(published)
}
