use tinybase::hooks::HookContext;

#[tinybase::hook(collection = "posts", event = "after_delete")]
fn cleanup(_ctx: HookContext, _change: String) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
