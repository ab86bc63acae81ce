//! `nightly_digest`: what happened on the blog in the last day, kept as a record.
//!
//! Meant to run on a schedule. As an admin, once:
//!
//! ```sh
//! curl -X POST http://127.0.0.1:8000/api/admin/schedules -H "authorization: Bearer $ADMIN_TOKEN" \
//!   -H 'content-type: application/json' -d '{"name": "Nightly digest",
//!     "function_name": "nightly_digest",
//!     "schedule": {"method": "cron", "cron": "0 6 * * *", "timezone": "Europe/Berlin"}}'
//! ```

use tinybase::collections::RecordQuery;
use tinybase::schemars::JsonSchema;
use tinybase::serde::Serialize;
use tinybase::{Context, Result};

use crate::collections::DailyDigest;

/// The digest written for one day.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Digest {
    /// The `digests` record holding it.
    id: String,
    /// Posts published in the 24 hours before the run.
    published_posts: u64,
    /// Comments written in those 24 hours.
    comments: u64,
}

fn since_query(field: &str, since: &str) -> RecordQuery {
    RecordQuery {
        per_page: Some(1),
        filter: Some(format!("{field} >= '{since}'")),
        ..RecordQuery::default()
    }
}

/// Counts the posts published and comments written in the last 24 hours and stores the
/// counts in the `digests` collection (admins only; run it from a schedule).
#[tinybase::function(auth = "admin", tags = ["blog"])]
async fn nightly_digest(ctx: Context) -> Result<Digest> {
    let since = (ctx.now() - chrono::TimeDelta::hours(24)).to_rfc3339();
    let records = ctx.records_as_system();
    let published = records
        .list("posts", since_query("published_at", &since))
        .await?
        .total_items;
    let comments = records
        .list("comments", since_query("created_at", &since))
        .await?
        .total_items;
    // Typed, through the code-first collection; as the caller (an admin or a schedule),
    // so the collection's admin-only rules hold here as over HTTP.
    let stored = ctx
        .collection::<DailyDigest>()
        .create(&DailyDigest {
            day: ctx.now().date_naive(),
            published_posts: i64::try_from(published).unwrap_or(i64::MAX),
            comments: i64::try_from(comments).unwrap_or(i64::MAX),
        })
        .await?;
    Ok(Digest {
        id: stored.id,
        published_posts: published,
        comments,
    })
}
