use tinybase::hooks::BeforeWrite;

#[tinybase::hook(event = "before_create")]
fn fill(_hook: &mut BeforeWrite<'_>) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
