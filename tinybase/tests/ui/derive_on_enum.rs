use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
enum Post {
    Draft,
    Published,
}

fn main() {}
