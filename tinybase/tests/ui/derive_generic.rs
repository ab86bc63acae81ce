use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
struct Post<T> {
    title: T,
}

fn main() {}
