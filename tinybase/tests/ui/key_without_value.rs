use tinybase::functions::Context;

#[tinybase::function(auth)]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
