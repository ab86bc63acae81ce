//! The app the end-to-end tests run: a user's `main`, plus the functions the crash, load
//! and schedule tests call, and the hook the hook benchmark (tests/bench/hooks.py) times.

use std::time::Duration;

use tinybase::hooks::BeforeWrite;
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Result};

/// Something to echo.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct Echo {
    /// Any text.
    text: String,
}

/// Returns its input.
#[tinybase::function(auth = "auth")]
async fn echo(_ctx: Context, input: Echo) -> Result<Echo> {
    Ok(input)
}

/// Works for a long time: long enough to be cut off by a crash.
#[tinybase::function(auth = "admin")]
async fn slow_job(_ctx: Context) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

/// Takes a moment, like real work: what the schedule tests run.
#[tinybase::function(auth = "admin")]
async fn short_job(_ctx: Context) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

/// The least a `before_create` hook can do: look at the record and let it through. What
/// the hook benchmark measures is the cost of having a hook at all.
#[tinybase::hook(collection = "hooked_posts", event = "before_create")]
fn look_at_post(hook: &mut BeforeWrite<'_>) -> Result<()> {
    std::hint::black_box(hook.data().len());
    Ok(())
}

fn main() -> std::process::ExitCode {
    tinybase::run()
}
