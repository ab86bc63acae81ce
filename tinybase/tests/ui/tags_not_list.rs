use tinybase::functions::Context;

#[tinybase::function(tags = "math")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
