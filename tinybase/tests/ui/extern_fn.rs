use tinybase::functions::Context;

#[tinybase::function]
extern "C" fn ping(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
