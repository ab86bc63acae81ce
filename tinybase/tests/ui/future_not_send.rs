use std::rc::Rc;

use tinybase::functions::Context;

async fn pause() {}

#[tinybase::function]
async fn ping(_ctx: Context) -> tinybase::Result<usize> {
    let shared = Rc::new(1);
    pause().await;
    Ok(*shared)
}

fn main() {}
