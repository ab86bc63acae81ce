use tinybase::functions::Context;

#[tinybase::function]
const fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
