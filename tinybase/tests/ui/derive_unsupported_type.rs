use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
struct Post {
    title: String,
    weights: std::collections::HashMap<String, f64>,
}

fn main() {}
