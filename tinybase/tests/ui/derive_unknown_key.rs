use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts", read_rule = "public")]
struct Post {
    #[field(maximum_length = 200)]
    title: String,
}

fn main() {}
