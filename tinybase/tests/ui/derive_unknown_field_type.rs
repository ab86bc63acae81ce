use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
struct Post {
    #[field(type = "markdown")]
    body: String,
}

fn main() {}
