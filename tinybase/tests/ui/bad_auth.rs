use tinybase::functions::Context;

#[tinybase::function(auth = "users")]
async fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
