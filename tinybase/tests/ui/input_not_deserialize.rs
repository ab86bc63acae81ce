use tinybase::functions::Context;

struct Input {
    text: String,
}

#[tinybase::function]
async fn echo(_ctx: Context, input: Input) -> tinybase::Result<String> {
    Ok(input.text)
}

fn main() {}
