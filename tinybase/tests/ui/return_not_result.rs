use tinybase::functions::Context;

#[tinybase::function]
async fn ping(_ctx: Context) -> String {
    "pong".to_owned()
}

fn main() {}
