use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
struct Post {
    title: String,
    created_at: String,
}

fn main() {}
