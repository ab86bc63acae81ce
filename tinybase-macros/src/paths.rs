//! Every absolute path the generated code names, in one place.
//!
//! Generated code reaches TinyBase's dependencies (inventory, serde_json) through
//! `::tinybase::__private`, so users never add them. Inside the `tinybase` crate itself
//! `::tinybase` resolves thanks to `extern crate self as tinybase;`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

/// `::tinybase::__private`: helpers for generated code only.
fn private() -> TokenStream {
    quote!(::tinybase::__private)
}

/// The `Context` every function takes first.
pub(crate) fn context() -> TokenStream {
    quote!(::tinybase::functions::Context)
}

/// What gets registered.
pub(crate) fn descriptor() -> TokenStream {
    quote!(::tinybase::functions::FunctionDescriptor)
}

/// One variant of `AuthLevel` (`Public`, `Auth` or `Admin`).
pub(crate) fn auth_level(variant: &str) -> TokenStream {
    let variant = Ident::new(variant, Span::call_site());
    quote!(::tinybase::functions::AuthLevel::#variant)
}

/// TinyBase's `Result`.
pub(crate) fn result() -> TokenStream {
    quote!(::tinybase::Result)
}

/// The JSON value type handlers take and return.
pub(crate) fn json_value() -> TokenStream {
    let private = private();
    quote!(#private::serde_json::Value)
}

/// The boxed future handlers return.
pub(crate) fn box_future() -> TokenStream {
    let private = private();
    quote!(#private::BoxFuture)
}

/// The trait every return type implements; gives the output type.
pub(crate) fn function_return() -> TokenStream {
    let private = private();
    quote!(#private::FunctionReturn)
}

/// `decode_input::<T>(value)`: typed input or a 422.
pub(crate) fn decode_input() -> TokenStream {
    let private = private();
    quote!(#private::decode_input)
}

/// `expect_no_input(&value)`: for functions that take only a `Context`.
pub(crate) fn expect_no_input() -> TokenStream {
    let private = private();
    quote!(#private::expect_no_input)
}

/// `encode_output(&output)`: the output as JSON.
pub(crate) fn encode_output() -> TokenStream {
    let private = private();
    quote!(#private::encode_output)
}

/// `run_blocking(closure)`: runs a plain `fn` on the blocking pool.
pub(crate) fn run_blocking() -> TokenStream {
    let private = private();
    quote!(#private::run_blocking)
}

/// Checks the input of a function that takes none.
pub(crate) fn expect_no_input_fn() -> TokenStream {
    let private = private();
    quote!(#private::expect_no_input)
}

/// `schema_for::<T>`: a type's JSON Schema.
pub(crate) fn schema_for() -> TokenStream {
    let private = private();
    quote!(#private::schema_for)
}

/// `inventory::submit!`.
pub(crate) fn submit() -> TokenStream {
    let private = private();
    quote!(#private::inventory::submit!)
}

/// `Box::pin`.
pub(crate) fn box_pin() -> TokenStream {
    quote!(::std::boxed::Box::pin)
}

/// `Option::Some` / `Option::None`.
pub(crate) fn some() -> TokenStream {
    quote!(::core::option::Option::Some)
}

/// `Option::None`.
pub(crate) fn none() -> TokenStream {
    quote!(::core::option::Option::None)
}

/// `module_path!()`, `file!()` and `line!()`, spanned at `span` so that they report the
/// user's function rather than the attribute.
pub(crate) fn location(span: Span) -> (TokenStream, TokenStream, TokenStream) {
    (
        quote_spanned!(span=> ::core::module_path!()),
        quote_spanned!(span=> ::core::file!()),
        quote_spanned!(span=> ::core::line!()),
    )
}
