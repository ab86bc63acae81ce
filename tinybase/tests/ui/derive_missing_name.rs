use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
struct Post {
    title: String,
}

fn main() {}
