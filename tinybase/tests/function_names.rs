//! Two functions with one name: start-up fails naming both. In its own test binary, since
//! the registry is global to a binary and the clash would break every other test's.

use tinybase::functions::{Context, FunctionRegistry};

mod billing {
    use tinybase::functions::Context;

    #[tinybase::function(name = "report")]
    pub(crate) async fn monthly(_ctx: Context) -> tinybase::Result<()> {
        Ok(())
    }
}

#[tinybase::function(name = "report")]
fn yearly(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

#[test]
fn duplicate_names_fail_at_start_up_naming_both_definitions() {
    let err = FunctionRegistry::collect().expect_err("two functions are named `report`");
    let message = err.to_string();
    assert!(
        message.contains("two functions are named `report`"),
        "{message}"
    );
    assert!(message.contains("function_names::billing"), "{message}");
    assert!(message.contains("tests/function_names.rs:10"), "{message}");
    assert!(message.contains("tests/function_names.rs:16"), "{message}");
    assert!(
        message.contains("name = \\\"...\\\"") || message.contains("name = \"...\""),
        "{message}"
    );
}
