//! The smallest TinyBase app: one public function, `POST /api/functions/hello`.
//!
//! ```sh
//! cargo run -p hello -- serve
//! curl -X POST http://127.0.0.1:8000/api/functions/hello \
//!   -H 'content-type: application/json' -d '{"name": "Ada"}'
//! # {"message":"Hello, Ada!"}
//! ```

use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Result};

/// Who to greet.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct HelloInput {
    /// A name.
    name: String,
}

/// The greeting.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct HelloOutput {
    /// "Hello, NAME!"
    message: String,
}

/// Says hello. Anyone may call it.
#[tinybase::function(auth = "public", tags = ["examples"])]
async fn hello(_ctx: Context, input: HelloInput) -> Result<HelloOutput> {
    if input.name.trim().is_empty() {
        return Err(tinybase::Error::invalid_field("name", "must not be empty"));
    }
    Ok(HelloOutput {
        message: format!("Hello, {}!", input.name.trim()),
    })
}

fn main() -> std::process::ExitCode {
    tinybase::run()
}
