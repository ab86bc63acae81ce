#[tinybase::function]
async fn ping() -> tinybase::Result<()> {
    Ok(())
}

fn main() {}
