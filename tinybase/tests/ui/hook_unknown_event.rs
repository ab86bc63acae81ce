use tinybase::hooks::BeforeWrite;

#[tinybase::hook(collection = "posts", event = "before_insert")]
fn fill(_hook: &mut BeforeWrite<'_>) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
