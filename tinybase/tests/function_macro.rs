//! `#[tinybase::function]` end to end: what it registers, and its handlers run for real by
//! the executor over a SQLite file in a temporary directory.
//!
//! The registry is global to this test binary: it holds exactly the functions below.

// The harness helpers outside `#[test]` fns panic on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tinybase::auth::users::NewUser;
use tinybase::collections::Caller;
use tinybase::functions::{
    AuthLevel, CallStatus, Calls, Context, Executor, FunctionDescriptor, FunctionRegistry,
    Invocation, Trigger, calls,
};
use tinybase::schemars::JsonSchema;
use tinybase::serde::{Deserialize, Serialize};
use tinybase::{Error, ErrorKind};

// Types derive through TinyBase's re-exports, as in an app without serde or schemars in
// its own Cargo.toml.

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct AddInput {
    x: i64,
    y: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Sum {
    sum: i64,
}

/// Adds two numbers.
///
/// Overflow is an error.
#[tinybase::function]
async fn add(_ctx: Context, AddInput { x, y }: AddInput) -> tinybase::Result<Sum> {
    let sum = x
        .checked_add(y)
        .ok_or_else(|| Error::invalid_field("y", "the sum overflows"))?;
    Ok(Sum { sum })
}

/// Multiplies on the blocking pool.
#[tinybase::function(auth = "public")]
fn multiply(_ctx: Context, input: AddInput) -> tinybase::Result<i64> {
    // Blocking on async work is only allowed off the async executor: this proves a plain
    // `fn` runs on the blocking pool.
    let factor = tokio::runtime::Handle::current().block_on(async { 1 });
    Ok(input.x * input.y * factor)
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Whoami {
    user_id: Option<String>,
    is_admin: bool,
    function: String,
    trigger: Trigger,
}

#[tinybase::function(auth = "public")]
async fn whoami(ctx: Context) -> tinybase::Result<Whoami> {
    Ok(Whoami {
        user_id: ctx.user_id().map(str::to_owned),
        is_admin: ctx.is_admin(),
        function: ctx.function_name().to_owned(),
        trigger: ctx.trigger(),
    })
}

/// This doc comment is overridden.
#[tinybase::function(
    name = "greet_everyone",
    description = "Says hello.",
    auth = "admin",
    tags = ["demo", "text"],
    timeout = 7
)]
async fn greet(_ctx: Context, names: Vec<String>) -> tinybase::Result<String> {
    Ok(format!("hello {}", names.join(" and ")))
}

/// An app's own error, converted into TinyBase's.
#[derive(Debug)]
enum MathError {
    DivisionByZero,
}

impl From<MathError> for Error {
    fn from(err: MathError) -> Self {
        match err {
            MathError::DivisionByZero => Error::bad_request("division by zero"),
        }
    }
}

/// The return type is an alias: the macro does not parse `Result<…>`.
type MathResult<T> = Result<T, MathError>;

#[tinybase::function(auth = "public", tags = ["math"])]
fn divide(_ctx: Context, (a, b): (i64, i64)) -> MathResult<i64> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    Ok(a / b)
}

#[tinybase::function(auth = "public")]
async fn explode(_ctx: Context) -> tinybase::Result<()> {
    panic!("boom")
}

#[tinybase::function(auth = "public")]
fn explode_blocking(_ctx: Context) -> tinybase::Result<()> {
    panic!("boom on the blocking pool")
}

#[tinybase::function(auth = "public", timeout = 1)]
async fn slow(_ctx: Context) -> tinybase::Result<()> {
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    Ok(())
}

/// Names that the generated code must not confuse with its own variables.
#[tinybase::function(auth = "public")]
async fn input(ctx: Context, input: String) -> tinybase::Result<String> {
    Ok(format!("{}:{input}", ctx.function_name()))
}

/// A raw identifier registers under its plain name.
#[tinybase::function(auth = "public")]
async fn r#loop(_ctx: Context) -> tinybase::Result<u32> {
    Ok(1)
}

/// A `#[cfg]` below the attribute removes the registration along with the function.
#[tinybase::function]
#[cfg(any())]
async fn compiled_out(_ctx: Context) -> tinybase::Result<()> {
    Ok(())
}

mod nested {
    pub(crate) mod deeper {
        use tinybase::functions::Context;

        /// Echoes its input.
        #[tinybase::function(auth = "public")]
        pub(crate) async fn echo(
            _ctx: Context,
            value: serde_json::Value,
        ) -> tinybase::Result<serde_json::Value> {
            Ok(value)
        }
    }
}

fn registry() -> FunctionRegistry {
    FunctionRegistry::collect().expect("no duplicate names in this test binary")
}

fn descriptor(name: &str) -> &'static FunctionDescriptor {
    registry()
        .get(name)
        .unwrap_or_else(|| panic!("`{name}` is registered"))
}

/// The line of `needle` in this file, 1-based.
fn line_of(needle: &str) -> u32 {
    let source = include_str!("function_macro.rs");
    let index = source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is in this file"));
    u32::try_from(index + 1).unwrap()
}

#[test]
fn registers_every_function_in_the_binary() {
    let names: Vec<_> = registry().all().map(|d| d.name).collect();
    assert_eq!(
        names,
        [
            "add",
            "divide",
            "echo",
            "explode",
            "explode_blocking",
            "greet_everyone",
            "input",
            "loop",
            "multiply",
            "slow",
            "whoami",
        ]
    );
}

#[test]
fn defaults_come_from_the_function() {
    let add = descriptor("add");
    assert_eq!(
        add.description,
        "Adds two numbers.\n\nOverflow is an error."
    );
    assert_eq!(add.auth, AuthLevel::Auth);
    assert!(add.tags.is_empty());
    assert_eq!(add.timeout_seconds, None);
    assert_eq!(add.module_path, "function_macro");
    assert!(add.file.ends_with("function_macro.rs"), "{}", add.file);
    assert_eq!(add.line, line_of("async fn add("));
    assert!(add.input_schema.is_some());

    assert_eq!(descriptor("whoami").description, "");
    assert_eq!(descriptor("multiply").line, line_of("fn multiply("));
}

#[test]
fn attribute_arguments_override_the_defaults() {
    let greet = descriptor("greet_everyone");
    assert_eq!(greet.description, "Says hello.");
    assert_eq!(greet.auth, AuthLevel::Admin);
    assert_eq!(greet.tags, ["demo", "text"]);
    assert_eq!(greet.timeout_seconds, Some(7));
    assert_eq!(descriptor("multiply").auth, AuthLevel::Public);
    assert!(registry().get("greet").is_none());
}

#[test]
fn a_function_without_input_has_no_input_schema() {
    assert!(descriptor("whoami").input_schema.is_none());
    assert!(descriptor("explode").input_schema.is_none());
}

#[test]
fn functions_in_nested_modules_register_with_their_path() {
    let echo = descriptor("echo");
    assert_eq!(echo.module_path, "function_macro::nested::deeper");
    assert_eq!(echo.description, "Echoes its input.");
    assert_eq!(echo.line, line_of("async fn echo("));
}

#[test]
fn schema_functions_describe_input_and_output() {
    let mut generator = tinybase::schemars::SchemaGenerator::default();
    let add = descriptor("add");
    let input = (add.input_schema.unwrap())(&mut generator);
    let output = (add.output_schema)(&mut generator);
    assert_eq!(input.get("$ref"), Some(&json!("#/$defs/AddInput")));
    assert_eq!(output.get("$ref"), Some(&json!("#/$defs/Sum")));
    let definitions = generator.definitions();
    assert_eq!(
        definitions["AddInput"]["required"],
        json!(["x", "y"]),
        "{definitions:?}"
    );
    assert_eq!(definitions["Sum"]["properties"]["sum"]["type"], "integer");

    // Inline schemas for the alias's output and the tuple input.
    let divide = descriptor("divide");
    let output = (divide.output_schema)(&mut generator);
    assert_eq!(output.get("type"), Some(&json!("integer")));
    let input = (divide.input_schema.unwrap())(&mut generator);
    assert_eq!(input.get("type"), Some(&json!("array")));
}

#[test]
fn the_function_stays_callable_directly() {
    // The attribute leaves the function as written, so it can be unit-tested. (A Context
    // cannot be built outside TinyBase; the pieces that need none are still plain Rust.)
    let _: fn(Context, AddInput) -> tinybase::Result<i64> = multiply;
    let _: fn(Context, (i64, i64)) -> MathResult<i64> = divide;
}

/// A real app over a temporary SQLite file, an executor over this binary's functions and
/// a signed-up user.
struct Harness {
    executor: Executor,
    app: tinybase::Tinybase,
    user_id: String,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = tinybase::config::Settings::default();
        settings.database.url = dir.path().join("test.db").display().to_string();
        let app = tinybase::App::new(settings).build().await.unwrap();
        let user = tinybase::auth::Users::new(app.database().clone())
            .create(NewUser {
                email: "user@example.com".to_owned(),
                password: "user-password".to_owned(),
                is_admin: false,
                email_verified: false,
            })
            .await
            .unwrap();
        let executor = Executor::new(
            app.database().clone(),
            app.collections().clone(),
            registry(),
            0,
        );
        Self {
            executor,
            app,
            user_id: user.id,
            _dir: dir,
        }
    }

    /// Calls `name` as the signed-up user; returns the output and the call id.
    async fn call(&self, name: &str, input: Value) -> (tinybase::Result<Value>, Option<String>) {
        let caller = Caller::user(self.user_id.clone(), false);
        let result = self
            .executor
            .call(name, input, Invocation::manual(caller))
            .await;
        (result.output, result.call_id)
    }

    async fn ok(&self, name: &str, input: Value) -> Value {
        let (output, _) = self.call(name, input).await;
        output.unwrap_or_else(|err| panic!("`{name}` failed: {err}"))
    }

    async fn err(&self, name: &str, input: Value) -> Error {
        let (output, _) = self.call(name, input).await;
        output.expect_err("should fail")
    }

    async fn record(&self, call_id: Option<String>) -> calls::FunctionCall {
        Calls::new(self.app.database().clone())
            .get(&call_id.unwrap())
            .await
            .unwrap()
    }
}

fn fields(err: &Error) -> Value {
    err.details().expect("details")["fields"].clone()
}

#[tokio::test]
async fn async_function_decodes_input_and_encodes_output() {
    let harness = Harness::start().await;
    assert_eq!(
        harness.ok("add", json!({"x": 2, "y": 3})).await,
        json!({"sum": 5})
    );
    let (output, call_id) = harness.call("add", json!({"x": 1, "y": 1})).await;
    assert!(output.is_ok());
    let record = harness.record(call_id).await;
    assert_eq!(record.status, CallStatus::Succeeded);
    assert_eq!(record.function_name, "add");
    assert_eq!(record.requested_by_user_id, Some(harness.user_id.clone()));
}

#[tokio::test]
async fn bad_input_is_a_422_naming_the_field() {
    let harness = Harness::start().await;
    let wrong_type = harness.err("add", json!({"x": "two", "y": 3})).await;
    assert_eq!(wrong_type.kind(), ErrorKind::Validation);
    assert!(fields(&wrong_type).get("x").is_some(), "{wrong_type:?}");

    let missing = harness.err("add", json!({"x": 2})).await;
    assert_eq!(missing.kind(), ErrorKind::Validation);
    assert!(fields(&missing).get("y").is_some(), "{missing:?}");

    let not_an_object = harness.err("add", json!("2 + 3")).await;
    assert_eq!(not_an_object.kind(), ErrorKind::Validation);
    assert!(
        fields(&not_an_object).get("body").is_some(),
        "{not_an_object:?}"
    );
}

#[tokio::test]
async fn the_function_s_own_error_is_returned_and_recorded() {
    let harness = Harness::start().await;
    let (output, call_id) = harness.call("add", json!({"x": i64::MAX, "y": 1})).await;
    let err = output.expect_err("overflow");
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(fields(&err)["y"], "the sum overflows");
    let record = harness.record(call_id).await;
    assert_eq!(record.status, CallStatus::Failed);
    assert_eq!(
        record.error_type.as_deref(),
        Some(ErrorKind::Validation.code())
    );
}

#[tokio::test]
async fn a_plain_fn_runs_on_the_blocking_pool() {
    let harness = Harness::start().await;
    assert_eq!(
        harness.ok("multiply", json!({"x": 6, "y": 7})).await,
        json!(42)
    );
}

#[tokio::test]
async fn a_function_without_input_accepts_nothing_null_or_an_empty_object() {
    let harness = Harness::start().await;
    for input in [Value::Null, json!({})] {
        let output = harness.ok("whoami", input).await;
        assert_eq!(
            output,
            json!({
                "user_id": harness.user_id,
                "is_admin": false,
                "function": "whoami",
                "trigger": "manual",
            })
        );
    }
    let err = harness.err("whoami", json!({"unexpected": 1})).await;
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(fields(&err).get("body").is_some(), "{err:?}");
}

#[tokio::test]
async fn an_error_type_converting_into_tinybase_s_works_through_an_alias() {
    let harness = Harness::start().await;
    assert_eq!(harness.ok("divide", json!([7, 2])).await, json!(3));
    let err = harness.err("divide", json!([7, 0])).await;
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.message(), "division by zero");
}

#[tokio::test]
async fn a_panic_is_an_internal_error_recorded_as_a_panic() {
    let harness = Harness::start().await;
    for name in ["explode", "explode_blocking"] {
        let (output, call_id) = harness.call(name, Value::Null).await;
        let err = output.expect_err("panics");
        assert_eq!(err.kind(), ErrorKind::Internal, "{name}");
        let record = harness.record(call_id).await;
        assert_eq!(record.status, CallStatus::Failed, "{name}");
        assert_eq!(record.error_type.as_deref(), Some("panic"), "{name}");
        assert!(
            record
                .error_message
                .as_deref()
                .unwrap_or("")
                .contains("boom"),
            "{record:?}"
        );
    }
    // The executor survives.
    assert_eq!(harness.ok("loop", Value::Null).await, json!(1));
}

#[tokio::test]
async fn the_timeout_argument_applies() {
    let harness = Harness::start().await;
    let (output, call_id) = harness.call("slow", Value::Null).await;
    assert_eq!(output.expect_err("times out").kind(), ErrorKind::Timeout);
    let record = harness.record(call_id).await;
    assert_eq!(record.error_type.as_deref(), Some("timeout"));
}

#[tokio::test]
async fn the_auth_argument_applies() {
    let harness = Harness::start().await;
    let err = harness.err("greet_everyone", json!(["a", "b"])).await;
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let admin = harness
        .executor
        .call(
            "greet_everyone",
            json!(["a", "b"]),
            Invocation::manual(Caller::system()),
        )
        .await;
    assert_eq!(admin.output.unwrap(), json!("hello a and b"));
}

#[tokio::test]
async fn generated_names_do_not_clash_with_the_user_s() {
    let harness = Harness::start().await;
    assert_eq!(harness.ok("input", json!("x")).await, json!("input:x"));
    assert_eq!(
        harness.ok("echo", json!({"any": ["json"]})).await,
        json!({"any": ["json"]})
    );
}
