use tinybase::functions::Context;

#[tinybase::function]
unsafe fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
