use tinybase::functions::Context;

#[tinybase::function(auth = admin)]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
