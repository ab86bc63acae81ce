//! Procedural macros for TinyBase; use them through the `tinybase` crate
//! (`#[tinybase::function]`), which documents them.

mod args;
mod collection;
mod doc;
mod expand;
mod hook;
mod name;
mod paths;
mod signature;

use proc_macro::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Error, Item};

use crate::args::{Errors, FunctionArgs};
use crate::expand::Function;

/// Registers a function that TinyBase serves at `POST /api/functions/{name}` and that
/// schedules can run. See `tinybase::function` for the full documentation.
#[proc_macro_attribute]
pub fn function(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match function_impl(args.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        // Keep the item so the only errors are ours, not "cannot find function `…`".
        Err(err) => {
            let err = err.to_compile_error();
            let item = without_reported_modifiers(item);
            quote!(#item #err).into()
        }
    }
}

/// Registers a Rust hook on a collection's record writes or on account events. See
/// `tinybase::hook` for the full documentation.
#[proc_macro_attribute]
pub fn hook(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match hook::hook_impl(args.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        // Keep the item so the only errors are ours.
        Err(err) => {
            let err = err.to_compile_error();
            let item = without_reported_modifiers(item);
            quote!(#item #err).into()
        }
    }
}

/// Declares a collection in code: `#[derive(tinybase::Collection)]` on a serde struct,
/// with `#[collection(...)]` on the struct and `#[field(...)]` on its fields. See
/// `tinybase::Collection` for the full documentation.
#[proc_macro_derive(Collection, attributes(collection, field))]
pub fn derive_collection(item: TokenStream) -> TokenStream {
    collection::derive(item.into())
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Makes an enum of unit variants usable as a `select` field of a code-first collection.
/// See `tinybase::Select`.
#[proc_macro_derive(Select)]
pub fn derive_select(item: TokenStream) -> TokenStream {
    collection::derive_select(item.into())
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// The item minus `const` and `...`, which we already reported: left in, they would add
/// the compiler's own errors about the same mistake.
fn without_reported_modifiers(item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(mut function) => {
            function.sig.constness = None;
            function.sig.variadic = None;
            function.into_token_stream()
        }
        Err(_) => item,
    }
}

fn function_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let item = match syn::parse2::<Item>(item)? {
        Item::Fn(item) => item,
        other => {
            return Err(Error::new_spanned(
                other,
                "#[tinybase::function] goes on a free `fn` or `async fn` taking \
                 `(ctx: Context)` or `(ctx: Context, input: YourInput)`",
            ));
        }
    };
    let mut errors = Errors::default();
    let args = FunctionArgs::parse(args)
        .map_err(|err| errors.push(err))
        .ok();
    let signature = signature::check(&item).map_err(|err| errors.push(err)).ok();
    let (Some(mut args), Some(signature)) = (args, signature) else {
        return errors.finish(proc_macro2::TokenStream::new());
    };
    let name = match args.name.take() {
        Some(name) => name,
        None => {
            let name = signature.ident.unraw().to_string();
            if !name::is_valid(&name) {
                return Err(Error::new_spanned(
                    signature.ident,
                    format!(
                        "`{name}` cannot be a function name; {}; rename the fn or set \
                         #[tinybase::function(name = \"…\")]",
                        name::RULE
                    ),
                ));
            }
            name
        }
    };
    let description = args
        .description
        .take()
        .unwrap_or_else(|| doc::description(&item.attrs));
    Ok(expand::expand(&Function {
        item: &item,
        signature,
        args,
        name,
        description,
    }))
}
