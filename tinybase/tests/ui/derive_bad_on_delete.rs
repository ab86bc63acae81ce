use serde::{Deserialize, Serialize};
use tinybase::Relation;

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "authors")]
struct Author {
    name: String,
}

#[derive(Serialize, Deserialize, tinybase::Collection)]
#[collection(name = "posts")]
struct Post {
    #[field(on_delete = "ignore")]
    author: Relation<Author>,
}

fn main() {}
