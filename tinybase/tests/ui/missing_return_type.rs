use tinybase::functions::Context;

#[tinybase::function]
async fn ping(_ctx: Context) {}

fn main() {}
