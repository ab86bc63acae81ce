use tinybase::functions::Context;

#[tinybase::function(nmae = "ping")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
