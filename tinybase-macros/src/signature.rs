//! Checking the signature of the annotated function: `(ctx: Context)` or
//! `(ctx: Context, input: T)`, returning something that implements `FunctionReturn`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Error, FnArg, Ident, ItemFn, ReturnType, Safety, Type};

use crate::args::Errors;

/// The shape every function must have, for error messages.
const SHAPE: &str = "`(ctx: Context)` or `(ctx: Context, input: YourInput)`";

/// What expansion needs from a valid signature.
pub(crate) struct Signature<'a> {
    /// The function's name.
    pub(crate) ident: &'a Ident,
    /// `async fn` (awaited) or plain `fn` (run on the blocking pool).
    pub(crate) is_async: bool,
    /// The written type of the first parameter (should be `Context`).
    pub(crate) context: &'a Type,
    /// The written type of the second parameter, if any.
    pub(crate) input: Option<&'a Type>,
    /// The written return type.
    pub(crate) output: &'a Type,
}

/// Checks `item`'s signature, reporting every problem at once.
pub(crate) fn check(item: &ItemFn) -> syn::Result<Signature<'_>> {
    let sig = &item.sig;
    let mut errors = Errors::default();
    if let Some(constness) = &sig.constness {
        errors.push(Error::new_spanned(
            constness,
            "a #[tinybase::function] cannot be a `const fn`: remove `const`",
        ));
    }
    if let Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(Error::new_spanned(
            unsafety,
            "a #[tinybase::function] cannot be an `unsafe fn`: remove `unsafe` \
             (use an `unsafe` block inside if you must)",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            "a #[tinybase::function] cannot have an ABI: remove the `extern`",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &sig.generics,
            "generic functions are not supported by #[tinybase::function]: TinyBase needs \
             concrete input and output types to decode JSON and publish schemas; remove the \
             generic parameters",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(
            variadic,
            format!("variadic parameters are not supported by #[tinybase::function]; take {SHAPE}"),
        ));
    }

    let mut context = None;
    let mut input = None;
    for (index, arg) in sig.inputs.iter().enumerate() {
        match (index, arg) {
            (_, FnArg::Receiver(receiver)) => errors.push(Error::new_spanned(
                receiver,
                format!(
                    "a #[tinybase::function] is a free function, not a method: remove `self` \
                     and take {SHAPE}"
                ),
            )),
            (0, FnArg::Typed(arg)) => context = Some(&*arg.ty),
            (1, FnArg::Typed(arg)) => input = Some(&*arg.ty),
            _ => {}
        }
    }
    if sig.inputs.is_empty() && sig.variadic.is_none() {
        errors.push(Error::new(
            sig.paren_token.span.join(),
            format!(
                "a #[tinybase::function] takes a `tinybase::functions::Context` first: write {SHAPE}"
            ),
        ));
    }
    if sig.inputs.len() > 2 {
        let extra: TokenStream = sig
            .inputs
            .pairs()
            .skip(2)
            .map(|pair| pair.into_value().to_token_stream())
            .collect();
        errors.push(Error::new_spanned(
            extra,
            format!(
                "too many parameters: a #[tinybase::function] takes {SHAPE}; put several \
                 inputs in one struct"
            ),
        ));
    }
    for ty in [context, input].into_iter().flatten() {
        if let Type::ImplTrait(_) = ty {
            errors.push(Error::new_spanned(
                ty,
                "`impl Trait` parameters are not supported by #[tinybase::function]: name a \
                 concrete type",
            ));
        }
    }

    let output = match &sig.output {
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(_) = &**ty {
                errors.push(Error::new_spanned(
                    ty,
                    "a #[tinybase::function] must return `tinybase::Result<T>`, not `impl Trait`: \
                     name the output type",
                ));
            }
            Some(&**ty)
        }
        ReturnType::Default => {
            errors.push(Error::new(
                sig.paren_token.span.close(),
                "a #[tinybase::function] must return `tinybase::Result<T>`: add \
                 `-> tinybase::Result<YourOutput>` after the parameters",
            ));
            None
        }
    };

    let signature = match (context, output) {
        (Some(context), Some(output)) => Some(Signature {
            ident: &sig.ident,
            is_async: sig.asyncness.is_some(),
            context,
            input,
            output,
        }),
        _ => None,
    };
    match (errors.finish(()), signature) {
        (Ok(()), Some(signature)) => Ok(signature),
        (Err(err), _) => Err(err),
        // Unreachable: a missing context or output pushed an error above.
        (Ok(()), None) => Err(Error::new_spanned(sig, "unsupported signature")),
    }
}
