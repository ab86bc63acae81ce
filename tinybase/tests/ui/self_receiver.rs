use tinybase::functions::Context;

struct Math;

impl Math {
    #[tinybase::function]
    async fn add(&self, _ctx: Context) -> tinybase::Result<i64> {
        Ok(1)
    }
}

fn main() {}
