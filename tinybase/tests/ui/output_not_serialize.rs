use tinybase::functions::Context;

struct Output {
    text: String,
}

#[tinybase::function]
async fn echo(_ctx: Context) -> tinybase::Result<Output> {
    Ok(Output { text: String::new() })
}

fn main() {}
