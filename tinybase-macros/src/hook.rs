//! `#[tinybase::hook(collection = "posts", event = "before_create", name = "…")]`:
//! checks the arguments and the fn's shape, then registers a type-erased handler.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{
    Error, Expr, ExprLit, FnArg, Ident, Item, ItemFn, Lit, LitStr, ReturnType, Safety, Token,
};

use crate::args::Errors;
use crate::{name, paths};

/// Every event, with the `HookEvent` variant it becomes.
const EVENTS: &[(&str, &str)] = &[
    ("before_create", "BeforeCreate"),
    ("after_create", "AfterCreate"),
    ("before_update", "BeforeUpdate"),
    ("after_update", "AfterUpdate"),
    ("before_delete", "BeforeDelete"),
    ("after_delete", "AfterDelete"),
    ("after_register", "AfterRegister"),
    ("after_login", "AfterLogin"),
];

/// What kind of handler an event takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `fn(&mut BeforeWrite<'_>) -> Result<()>`.
    Before,
    /// `fn(HookContext, RecordChange) -> Result<()>`.
    After,
    /// `fn(HookContext, AuthEvent) -> Result<()>`.
    Auth,
}

impl Kind {
    fn of(event: &str) -> Self {
        if event.starts_with("before_") {
            Self::Before
        } else if matches!(event, "after_register" | "after_login") {
            Self::Auth
        } else {
            Self::After
        }
    }

    fn shape(self) -> &'static str {
        match self {
            Self::Before => {
                "`fn name(hook: &mut tinybase::hooks::BeforeWrite<'_>) -> tinybase::Result<()>`"
            }
            Self::After => {
                "`fn name(ctx: tinybase::hooks::HookContext, change: tinybase::hooks::RecordChange) -> tinybase::Result<()>`"
            }
            Self::Auth => {
                "`fn name(ctx: tinybase::hooks::HookContext, event: tinybase::hooks::AuthEvent) -> tinybase::Result<()>`"
            }
        }
    }
}

/// The attribute's arguments, checked.
struct HookArgs {
    name: Option<String>,
    collection: Option<String>,
    event: &'static str,
    variant: &'static str,
}

/// Expands `#[tinybase::hook(...)]` on `item`.
pub(crate) fn hook_impl(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let item = match syn::parse2::<Item>(item)? {
        Item::Fn(item) => item,
        other => {
            return Err(Error::new_spanned(
                other,
                "#[tinybase::hook] goes on a free `fn` or `async fn`",
            ));
        }
    };
    let mut errors = Errors::default();
    let args = parse_args(args).map_err(|err| errors.push(err)).ok();
    if let Some(args) = &args {
        check_signature(&item, Kind::of(args.event), &mut errors);
    }
    let Some(args) = args else {
        return errors.finish(TokenStream::new());
    };
    errors.finish(())?;
    Ok(expand(&item, &args))
}

fn parse_args(tokens: TokenStream) -> syn::Result<HookArgs> {
    let entries = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut errors = Errors::default();
    let mut seen = HashSet::new();
    let (mut name, mut collection, mut event) = (None, None, None);
    for entry in entries {
        let key = entry.key.unraw().to_string();
        if !seen.insert(key.clone()) {
            errors.push(Error::new_spanned(
                &entry.key,
                format!("duplicate key `{key}`: give each key at most once"),
            ));
            continue;
        }
        let lit = match string(&entry.value) {
            Some(lit) => lit,
            None => {
                errors.push(Error::new_spanned(
                    &entry.value,
                    format!("expected a string literal: `{key} = \"…\"`"),
                ));
                continue;
            }
        };
        match key.as_str() {
            "name" | "collection" => {
                let value = lit.value();
                if name::is_valid(&value) {
                    if key == "name" {
                        name = Some(value);
                    } else {
                        collection = Some((value, lit));
                    }
                } else {
                    errors.push(Error::new_spanned(
                        &lit,
                        format!(
                            "`{value}` is not a valid {key}: use 1 to 63 lowercase ASCII \
                             letters, digits and `_`, starting with a letter"
                        ),
                    ));
                }
            }
            "event" => match EVENTS.iter().find(|(e, _)| *e == lit.value()) {
                Some(&(event_name, variant)) => event = Some((event_name, variant, lit)),
                None => errors.push(Error::new_spanned(
                    &lit,
                    format!(
                        "unknown hook event \"{}\"; use one of {}",
                        lit.value(),
                        EVENTS
                            .iter()
                            .map(|(e, _)| format!("\"{e}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            },
            _ => errors.push(Error::new_spanned(
                &entry.key,
                format!(
                    "unknown key `{key}` in #[tinybase::hook]; the valid keys are `collection`, \
                     `event` and `name`"
                ),
            )),
        }
    }
    let Some((event, variant, event_lit)) = event else {
        if !seen.contains("event") {
            errors.push(Error::new(
                Span::call_site(),
                "#[tinybase::hook] needs an event: write e.g. \
                 #[tinybase::hook(collection = \"posts\", event = \"before_create\")]",
            ));
        }
        return Err(errors
            .finish(())
            .err()
            .unwrap_or_else(|| Error::new(Span::call_site(), "#[tinybase::hook] needs an event")));
    };
    let collection = match (Kind::of(event), collection) {
        (Kind::Auth, Some((_, lit))) => {
            errors.push(Error::new_spanned(
                lit,
                format!("`{event}` is an account event: remove `collection`"),
            ));
            None
        }
        (Kind::Auth, None) => None,
        (_, Some((value, _))) => Some(value),
        (_, None) => {
            errors.push(Error::new_spanned(
                event_lit,
                format!(
                    "`{event}` watches a collection's records: add `collection = \"posts\"` \
                     (the collection's name)"
                ),
            ));
            None
        }
    };
    errors.finish(HookArgs {
        name,
        collection,
        event,
        variant,
    })
}

/// `key = value`.
struct Entry {
    key: Ident,
    value: Expr,
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>().map_err(|err| {
            Error::new(
                err.span(),
                format!("`{key}` needs a value: write `{key} = \"…\"`"),
            )
        })?;
        Ok(Self {
            key,
            value: input.parse()?,
        })
    }
}

fn string(value: &Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.clone()),
        Expr::Group(group) => string(&group.expr),
        _ => None,
    }
}

/// The shape checks the compiler would make less clearly; parameter and return types
/// are left to it, with the user's spans.
fn check_signature(item: &ItemFn, kind: Kind, errors: &mut Errors) {
    let sig = &item.sig;
    let shape = kind.shape();
    if sig.constness.is_some() || sig.abi.is_some() || matches!(sig.safety, Safety::Unsafe(_)) {
        errors.push(Error::new_spanned(
            sig.fn_token,
            format!("a #[tinybase::hook] is a plain `fn` or `async fn`: {shape}"),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &sig.generics,
            format!("a #[tinybase::hook] cannot be generic: {shape}"),
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(Error::new_spanned(
            receiver,
            format!("a #[tinybase::hook] is a free function, not a method: {shape}"),
        ));
    }
    let wanted = if kind == Kind::Before { 1 } else { 2 };
    if sig.inputs.len() != wanted {
        errors.push(Error::new(
            sig.paren_token.span.join(),
            format!(
                "this hook takes {wanted} parameter{}: {shape}",
                if wanted == 1 { "" } else { "s" }
            ),
        ));
    }
    if let ReturnType::Default = sig.output {
        errors.push(Error::new(
            sig.paren_token.span.close(),
            format!("a #[tinybase::hook] returns `tinybase::Result<()>`: {shape}"),
        ));
    }
}

fn expand(item: &ItemFn, args: &HookArgs) -> TokenStream {
    let user_fn = &item.sig.ident;
    let is_async = item.sig.asyncness.is_some();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| user_fn.unraw().to_string());
    let collection = args.collection.clone().unwrap_or_default();
    let (module_path, file, line) = paths::location(user_fn.span());
    let variant = Ident::new(args.variant, Span::call_site());
    let (hooks, result, private, submit) = (
        quote!(::tinybase::hooks),
        paths::result(),
        quote!(::tinybase::__private),
        paths::submit(),
    );
    let hook = format_ident!("hook", span = Span::mixed_site());
    let ctx = format_ident!("ctx", span = Span::mixed_site());
    let event = format_ident!("event", span = Span::mixed_site());
    let (handler, handler_variant) = match Kind::of(args.event) {
        Kind::Before => {
            let body = if is_async {
                quote!(#hook.driver().block_on(#user_fn(#hook)))
            } else {
                quote!(#private::hook_result(#user_fn(#hook)))
            };
            (
                quote! {
                    fn __tinybase_hook(#hook: &mut #hooks::BeforeWrite<'_>) -> #result<()> {
                        #body
                    }
                },
                quote!(Before),
            )
        }
        kind => {
            let event_type = if kind == Kind::Auth {
                quote!(#hooks::AuthEvent)
            } else {
                quote!(#hooks::RecordChange)
            };
            let call = if is_async {
                quote!(#user_fn(#ctx, #event).await)
            } else {
                quote!(#private::run_blocking(move || #user_fn(#ctx, #event)).await?)
            };
            (
                quote! {
                    fn __tinybase_hook(
                        #ctx: #hooks::HookContext,
                        #event: #event_type,
                    ) -> #private::BoxFuture<#result<()>> {
                        ::std::boxed::Box::pin(async move { #private::hook_result(#call) })
                    }
                },
                if kind == Kind::Auth {
                    quote!(Auth)
                } else {
                    quote!(After)
                },
            )
        }
    };
    let cfgs = item.attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    quote! {
        #item

        #(#cfgs)*
        #[doc(hidden)]
        const _: () = {
            #handler

            #submit {
                #hooks::HookDescriptor {
                    name: #name,
                    collection: #collection,
                    event: #hooks::HookEvent::#variant,
                    module_path: #module_path,
                    file: #file,
                    line: #line,
                    handler: #hooks::HookHandler::#handler_variant(__tinybase_hook),
                }
            }
        };
    }
}
