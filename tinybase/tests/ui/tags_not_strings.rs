use tinybase::functions::Context;

#[tinybase::function(tags = ["ok", 2, math])]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
