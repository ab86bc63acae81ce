use tinybase::hooks::{BeforeWrite, HookContext, RecordChange};

#[tinybase::hook(collection = "posts", event = "after_create")]
async fn audit(_hook: &mut BeforeWrite<'_>) -> tinybase::Result<()> {
    Ok(())
}

#[tinybase::hook(collection = "posts", event = "before_create", color = "red")]
fn fill(_ctx: HookContext, _change: RecordChange) {}

fn main() {}
