use tinybase::schemars::JsonSchema;
use tinybase::serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Input {
    text: String,
}

#[tinybase::function]
async fn echo(input: Input) -> tinybase::Result<String> {
    Ok(input.text)
}

fn main() {}
