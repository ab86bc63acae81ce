//! The smallest TinyBase app: one function, `POST /api/functions/add_numbers`.
//!
//! ```sh
//! TINYBASE_ADMIN_EMAIL=admin@example.com TINYBASE_ADMIN_PASSWORD=change-me-now \
//!   cargo run -p hello -- init
//! cargo run -p hello -- serve
//! TOKEN=$(curl -s -X POST http://127.0.0.1:8000/api/auth/login -H 'content-type: application/json' \
//!   -d '{"email": "admin@example.com", "password": "change-me-now"}' | jq -r .token)
//! curl -X POST http://127.0.0.1:8000/api/functions/add_numbers -H "authorization: Bearer $TOKEN" \
//!   -H 'content-type: application/json' -d '{"x": 2, "y": 3}'
//! # {"sum":5}
//! ```

use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Context, Error, Result};

/// Two numbers to add.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde", deny_unknown_fields)]
#[schemars(crate = "tinybase::schemars")]
struct AddInput {
    /// The first number.
    x: i64,
    /// The second number.
    y: i64,
}

/// Their sum.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct AddOutput {
    /// `x + y`.
    sum: i64,
}

/// Adds two numbers. Signed-in users only.
#[tinybase::function(auth = "auth", tags = ["math"])]
async fn add_numbers(_ctx: Context, input: AddInput) -> Result<AddOutput> {
    let sum = input
        .x
        .checked_add(input.y)
        .ok_or_else(|| Error::invalid_field("y", "the sum does not fit in a 64-bit integer"))?;
    Ok(AddOutput { sum })
}

fn main() -> std::process::ExitCode {
    tinybase::run()
}
