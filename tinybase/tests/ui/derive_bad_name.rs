use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "Blog Posts")]
struct Post {
    title: String,
}

fn main() {}
