//! This app's collections declared in code, one module each. `cargo run -- new collection
//! NAME` adds one here.
//!
//! `run()` creates each collection at start, or migrates it when its struct changed in a
//! way stored records still fit (adding an `Option<…>` field, loosening a constraint).

pub(crate) use digests::DailyDigest;

mod digests;
// tinybase: new collection modules go above this line
