//! `digests`: one record per day, written by `nightly_digest`.

use tinybase::chrono::NaiveDate;
use tinybase::serde::{Deserialize, Serialize};

/// What happened on the blog on one day; written by `nightly_digest`, read by admins.
#[derive(Debug, Clone, Serialize, Deserialize, tinybase::Collection)]
#[serde(crate = "tinybase::serde")]
#[collection(
    name = "digests",
    label = "Daily digests",
    list_rule = "admin",
    view_rule = "admin",
    create_rule = "admin",
    update_rule = "admin",
    delete_rule = "admin"
)]
pub(crate) struct DailyDigest {
    /// The day the digest was made.
    #[field(indexed)]
    pub(crate) day: NaiveDate,
    /// Posts published in the 24 hours before it.
    #[field(min = 0)]
    pub(crate) published_posts: i64,
    /// Comments written in those 24 hours.
    #[field(min = 0)]
    pub(crate) comments: i64,
}
