use tinybase::functions::Context;

#[tinybase::function(timeout = "30s")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
