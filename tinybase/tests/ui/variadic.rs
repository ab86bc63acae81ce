use tinybase::functions::Context;

#[tinybase::function]
fn ping(_ctx: Context, ...) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
