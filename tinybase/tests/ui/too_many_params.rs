use tinybase::functions::Context;

#[tinybase::function]
async fn add(_ctx: Context, x: i64, y: i64) -> tinybase::Result<i64> {
    Ok(x + y)
}

fn main() {}
