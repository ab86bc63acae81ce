use tinybase::functions::Context;

#[tinybase::function]
fn ping(_ctx: Context) -> Option<String> {
    None
}

fn main() {}
