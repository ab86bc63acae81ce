
#[tinybase::function]
struct Ping;

fn main() {}
