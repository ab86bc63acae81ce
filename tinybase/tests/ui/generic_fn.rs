use tinybase::functions::Context;

#[tinybase::function]
async fn echo<T>(_ctx: Context, input: T) -> tinybase::Result<T> {
    Ok(input)
}

fn main() {}
