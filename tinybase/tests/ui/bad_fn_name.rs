use tinybase::functions::Context;

#[tinybase::function]
#[allow(non_snake_case)]
async fn pingPong(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
