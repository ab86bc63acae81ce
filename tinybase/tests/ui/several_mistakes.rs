#[tinybase::function(auth = "everyone", tags = [1], timeout = -5)]
async fn ping<T>() {}

fn main() {}
