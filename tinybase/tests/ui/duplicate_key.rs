use tinybase::functions::Context;

#[tinybase::function(name = "ping", auth = "public", name = "pong")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
