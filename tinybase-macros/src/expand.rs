//! Expansion: the user's function unchanged, plus a hidden handler and its registration.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn};

use crate::args::FunctionArgs;
use crate::paths;
use crate::signature::Signature;

/// Everything the registration needs, checked.
pub(crate) struct Function<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) signature: Signature<'a>,
    pub(crate) args: FunctionArgs,
    /// The registered name (from `name = …` or the fn's own name).
    pub(crate) name: String,
    /// The description (from `description = …` or the doc comment).
    pub(crate) description: String,
}

/// ```text
/// <the user's fn, unchanged>
/// const _: () = {
///     async fn __tinybase_call(ctx: Context, input: Value) -> Result<Value> { … }
///     fn __tinybase_handler(ctx: Context, input: Value) -> BoxFuture<Result<Value>> { … }
///     inventory::submit! { FunctionDescriptor { … } }
/// };
/// ```
pub(crate) fn expand(function: &Function<'_>) -> TokenStream {
    let item = function.item;
    let call = call(&function.signature);
    let descriptor = descriptor(function);
    let (context, value, result, box_future, box_pin) = (
        paths::context(),
        paths::json_value(),
        paths::result(),
        paths::box_future(),
        paths::box_pin(),
    );
    let (ctx, input) = locals(&function.signature);
    let submit = paths::submit();
    let decoder = decoder(&function.signature);
    // `#[cfg]` below the attribute removes the fn after expansion: remove its registration
    // with it.
    let cfgs = item.attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    quote! {
        #item

        #(#cfgs)*
        #[doc(hidden)]
        const _: () = {
            #decoder

            async fn __tinybase_call(#ctx: #context, #input: #value) -> #result<#value> {
                #call
            }

            fn __tinybase_handler(
                #ctx: #context,
                #input: #value,
            ) -> #box_future<#result<#value>> {
                #box_pin(__tinybase_call(#ctx, #input))
            }

            #submit { #descriptor }
        };
    }
}

/// The one place the input type is decoded, shared by the call and by input checks (for
/// schedules), so a missing `Deserialize` is reported once, on the user's input type.
fn decoder(signature: &Signature<'_>) -> TokenStream {
    let Some(ty) = signature.input else {
        return TokenStream::new();
    };
    let (value, result, decode_input) =
        (paths::json_value(), paths::result(), paths::decode_input());
    let input = Ident::new("input", Span::mixed_site());
    let decode = quote_spanned! {ty.span()=> #decode_input::<#ty>(#input) };
    quote! {
        fn __tinybase_decode(#input: #value) -> #result<#ty> {
            #decode
        }

        fn __tinybase_validate(#input: &#value) -> #result<()> {
            __tinybase_decode(::core::clone::Clone::clone(#input)).map(|_| ())
        }
    }
}

/// The handler's parameter names. `input` is hygienic, so a user function called `input`
/// is not shadowed. The context carries the span of the user's first parameter type: when
/// that is not a `Context`, the mismatch is reported there rather than on the attribute.
fn locals(signature: &Signature<'_>) -> (Ident, Ident) {
    (
        Ident::new("__tinybase_ctx", signature.context.span()),
        Ident::new("input", Span::mixed_site()),
    )
}

/// Decodes the input, calls the user's function and encodes its output. Type-checked
/// pieces carry the user's spans so errors point at the user's types.
fn call(signature: &Signature<'_>) -> TokenStream {
    let (ctx, input) = locals(signature);
    let output = format_ident!("output", span = Span::mixed_site());
    let returned = format_ident!("returned", span = Span::mixed_site());
    let user_fn = signature.ident;

    let (decode, args) = match signature.input {
        Some(ty) => {
            let decode = quote_spanned! {ty.span()=>
                let #input = __tinybase_decode(#input)?;
            };
            (decode, quote!(#ctx, #input))
        }
        None => {
            let expect_no_input = paths::expect_no_input();
            (quote!(#expect_no_input(&#input)?;), quote!(#ctx))
        }
    };
    let invoke = if signature.is_async {
        quote!(#user_fn(#args).await)
    } else {
        let run_blocking = paths::run_blocking();
        quote!(#run_blocking(move || #user_fn(#args)).await?)
    };
    let (ret, ret_span) = return_type(signature);
    let function_return = paths::function_return();
    let into_result = quote_spanned! {ret_span=>
        <#ret as #function_return>::into_result(#returned)?
    };
    let encode_output = paths::encode_output();
    let encode = quote_spanned! {ret_span=>
        #encode_output::<<#ret as #function_return>::Output>(&#output)
    };
    quote! {
        #decode
        let #returned = #invoke;
        let #output = #into_result;
        #encode
    }
}

/// The return type with every token spanned at its first one, the span the generated code
/// around it uses. A return type that is not a `Result` then fails in one place, once,
/// instead of with one error per use spanned slightly differently.
fn return_type(signature: &Signature<'_>) -> (TokenStream, Span) {
    let span = signature.output.span();
    (respan(signature.output.to_token_stream(), span), span)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The `FunctionDescriptor` literal.
fn descriptor(function: &Function<'_>) -> TokenStream {
    let Function {
        signature,
        args,
        name,
        description,
        ..
    } = function;
    let descriptor = paths::descriptor();
    let auth = paths::auth_level(args.auth.variant());
    let tags = &args.tags;
    let timeout = match args.timeout {
        Some(seconds) => {
            let some = paths::some();
            quote!(#some(#seconds))
        }
        None => paths::none(),
    };
    let (module_path, file, line) = paths::location(signature.ident.span());
    let schema_for = paths::schema_for();
    let input_schema = match signature.input {
        Some(ty) => {
            let some = paths::some();
            quote_spanned!(ty.span()=> #some(#schema_for::<#ty>))
        }
        None => paths::none(),
    };
    let validate_input = match signature.input {
        Some(_) => quote!(__tinybase_validate),
        None => paths::expect_no_input_fn(),
    };
    let (ret, ret_span) = return_type(signature);
    let function_return = paths::function_return();
    let output_schema = quote_spanned! {ret_span=>
        #schema_for::<<#ret as #function_return>::Output>
    };
    quote! {
        #descriptor {
            name: #name,
            description: #description,
            auth: #auth,
            tags: &[#(#tags),*],
            timeout_seconds: #timeout,
            module_path: #module_path,
            file: #file,
            line: #line,
            input_schema: #input_schema,
            output_schema: #output_schema,
            validate_input: #validate_input,
            handler: __tinybase_handler,
        }
    }
}
