use tinybase::functions::Context;

#[tinybase::function(name = "Ping-Pong")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
