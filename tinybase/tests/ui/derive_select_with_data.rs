use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, tinybase::Select)]
enum Status {
    Draft,
    Published { at: String },
}

fn main() {}
