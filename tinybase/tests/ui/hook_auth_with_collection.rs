use tinybase::hooks::{AuthEvent, HookContext};

#[tinybase::hook(collection = "users", event = "after_login")]
async fn greet(_ctx: HookContext, _event: AuthEvent) -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
