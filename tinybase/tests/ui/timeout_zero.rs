use tinybase::functions::Context;

#[tinybase::function(timeout = 0)]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
