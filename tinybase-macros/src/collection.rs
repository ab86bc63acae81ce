//! `#[derive(tinybase::Collection)]`: a serde struct declares a collection.
//!
//! ```text
//! #[derive(Serialize, Deserialize, tinybase::Collection)]
//! #[collection(name = "posts", list_rule = "public", create_rule = "auth")]
//! struct Post {
//!     #[field(min_length = 1, max_length = 200)]
//!     title: String,
//!     #[field(type = "text")]
//!     body: Option<String>,
//!     #[field(unique, indexed)]
//!     slug: String,
//! }
//! ```
//!
//! The field types come from the Rust types through the `FieldKind` trait, so an
//! unsupported type is reported by rustc on the type itself. Everything the attributes say
//! is checked here, with spans.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Error, Expr, ExprLit, ExprUnary, Fields, Ident, Lit, LitStr,
    Token, UnOp,
};

use crate::args::Errors;
use crate::paths;

/// The keys of `#[collection(...)]`, each with an example.
const COLLECTION_KEYS: &[(&str, &str)] = &[
    ("name", "name = \"posts\""),
    ("label", "label = \"Blog posts\""),
    ("list_rule", "list_rule = \"public\""),
    ("view_rule", "view_rule = \"public\""),
    ("create_rule", "create_rule = \"auth\""),
    ("update_rule", "update_rule = \"owner\""),
    ("delete_rule", "delete_rule = \"owner\""),
    ("max_record_bytes", "max_record_bytes = 65536"),
];

/// The keys of `#[field(...)]`, each with an example. `unique`, `indexed` and `searchable`
/// are flags.
const FIELD_KEYS: &[(&str, &str)] = &[
    ("type", "type = \"text\""),
    ("min", "min = 0"),
    ("max", "max = 5"),
    ("min_length", "min_length = 1"),
    ("max_length", "max_length = 200"),
    ("pattern", "pattern = \"^[a-z-]+$\""),
    ("default", "default = \"draft\""),
    ("unique", "unique"),
    ("indexed", "indexed"),
    ("searchable", "searchable"),
    ("on_delete", "on_delete = \"cascade\""),
];

/// Names the record's system fields already use.
const RESERVED: &[&str] = &["id", "collection", "owner_id", "created_at", "updated_at"];

/// The string types a `String` field may be declared as with `type = "…"`.
const STRING_TYPES: &[(&str, &str)] = &[
    ("string", "String"),
    ("text", "Text"),
    ("email", "Email"),
    ("url", "Url"),
];

/// Expands the derive.
pub(crate) fn derive(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &input.generics,
            "a #[derive(tinybase::Collection)] struct cannot be generic",
        ));
    }
    reject_serde_renames(&input.attrs, &mut errors);
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            other => {
                errors.push(Error::new_spanned(
                    other,
                    "#[derive(tinybase::Collection)] needs named fields: `struct Post { title: String }`",
                ));
                None
            }
        },
        _ => {
            errors.push(Error::new(
                input.ident.span(),
                "#[derive(tinybase::Collection)] goes on a struct with named fields; \
                 derive `tinybase::Select` for an enum used as a `select` field",
            ));
            None
        }
    };
    let args = CollectionArgs::parse(&input.attrs, &input.ident)
        .map_err(|err| errors.push(err))
        .ok();
    let mut specs = Vec::new();
    if let Some(fields) = fields {
        let mut names = HashSet::new();
        for field in &fields.named {
            match field_spec(field) {
                Ok(spec) => {
                    if names.insert(spec.name.clone()) {
                        specs.push(spec);
                    }
                }
                Err(err) => errors.push(err),
            }
        }
    }
    let Some(args) = args else {
        return errors.finish(TokenStream::new());
    };
    let tokens = expand(&input, &args, &specs);
    errors.finish(tokens)
}

/// Serde renames would make the stored names differ from the Rust names the schema is
/// built from: refused rather than silently storing under other keys.
fn reject_serde_renames(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        for token in list.tokens.clone() {
            if let proc_macro2::TokenTree::Ident(ident) = token {
                let word = ident.to_string();
                if matches!(word.as_str(), "rename" | "rename_all" | "flatten" | "alias") {
                    errors.push(Error::new(
                        ident.span(),
                        format!(
                            "`#[serde({word})]` is not supported on a code-first collection: \
                             its field names are the Rust field names"
                        ),
                    ));
                }
            }
        }
    }
}

/// `#[collection(...)]`, checked.
struct CollectionArgs {
    name: String,
    label: Option<String>,
    /// `(option key, rule text)`.
    rules: Vec<(Ident, String)>,
    max_record_bytes: Option<u64>,
}

impl CollectionArgs {
    fn parse(attrs: &[Attribute], ident: &Ident) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let mut args = Self {
            name: String::new(),
            label: None,
            rules: Vec::new(),
            max_record_bytes: None,
        };
        let mut name = None;
        let mut seen = HashSet::new();
        for attr in attrs.iter().filter(|a| a.path().is_ident("collection")) {
            let entries =
                match attr.parse_args_with(Punctuated::<Entry, Token![,]>::parse_terminated) {
                    Ok(entries) => entries,
                    Err(err) => {
                        errors.push(err);
                        continue;
                    }
                };
            for entry in entries {
                let key = entry.key.unraw().to_string();
                let Some(value) =
                    checked_entry(&entry, &key, "collection", COLLECTION_KEYS, &mut seen)
                        .map_err(|err| errors.push(err))
                        .ok()
                else {
                    continue;
                };
                let result = match key.as_str() {
                    "name" => string(&value, "name = \"posts\"").and_then(|lit| {
                        let text = lit.value();
                        if valid_name(&text) {
                            name = Some(text);
                            Ok(())
                        } else {
                            Err(Error::new_spanned(
                                lit,
                                format!(
                                    "`{text}` is not a valid collection name: use 1 to 63 \
                                     lowercase ASCII letters, digits and `_`, starting with a letter"
                                ),
                            ))
                        }
                    }),
                    "label" => string(&value, "label = \"Blog posts\"")
                        .map(|lit| args.label = Some(lit.value())),
                    "max_record_bytes" => whole(&value, "max_record_bytes = 65536")
                        .map(|n| args.max_record_bytes = Some(n)),
                    _ => {
                        let example = COLLECTION_KEYS
                            .iter()
                            .find(|(k, _)| *k == key)
                            .map_or("", |(_, e)| e);
                        string(&value, example).and_then(|lit| {
                            if lit.value().trim().is_empty() {
                                Err(Error::new_spanned(lit, "a rule cannot be empty"))
                            } else {
                                args.rules.push((entry.key.clone(), lit.value()));
                                Ok(())
                            }
                        })
                    }
                };
                if let Err(err) = result {
                    errors.push(err);
                }
            }
        }
        match name {
            Some(name) => args.name = name,
            None if seen.contains("name") => {}
            None => errors.push(Error::new(
                ident.span(),
                "a code-first collection needs a name: add `#[collection(name = \"posts\")]`",
            )),
        }
        errors.finish(args)
    }
}

/// One field as the macro understood it.
struct FieldSpec {
    name: String,
    ty: syn::Type,
    /// `type = "text"` and the `FieldType` variant it names.
    string_type: Option<(LitStr, &'static str)>,
    /// Assignments to the runtime `FieldSpec`, e.g. `spec.unique = true;`.
    settings: Vec<TokenStream>,
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let mut errors = Errors::default();
    reject_serde_renames(&field.attrs, &mut errors);
    // Named fields always have an ident.
    let ident = field
        .ident
        .as_ref()
        .ok_or_else(|| Error::new_spanned(field, "expected a named field"))?;
    let name = ident.unraw().to_string();
    if !valid_name(&name) {
        errors.push(Error::new(
            ident.span(),
            format!(
                "`{name}` cannot be a field name: use lowercase ASCII letters, digits and `_`, \
                 starting with a letter"
            ),
        ));
    } else if RESERVED.contains(&name.as_str()) {
        errors.push(Error::new(
            ident.span(),
            format!(
                "`{name}` is a system field of every record ({}); choose another name",
                RESERVED.join(", ")
            ),
        ));
    }
    let mut spec = FieldSpec {
        name,
        ty: field.ty.clone(),
        string_type: None,
        settings: Vec::new(),
    };
    let mut seen = HashSet::new();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("field")) {
        let entries = match attr.parse_args_with(Punctuated::<Entry, Token![,]>::parse_terminated) {
            Ok(entries) => entries,
            Err(err) => {
                errors.push(err);
                continue;
            }
        };
        for entry in entries {
            let key = entry.key.unraw().to_string();
            if matches!(key.as_str(), "unique" | "indexed" | "searchable") {
                if entry.value.is_some() {
                    errors.push(Error::new_spanned(
                        &entry.key,
                        format!("`{key}` is a flag: write `#[field({key})]`"),
                    ));
                } else if !seen.insert(key.clone()) {
                    errors.push(duplicate(&entry.key, &key));
                } else {
                    let member = Ident::new(&key, Span::call_site());
                    spec.settings.push(quote!(spec.#member = true;));
                }
                continue;
            }
            let value = match checked_entry(&entry, &key, "field", FIELD_KEYS, &mut seen) {
                Ok(value) => value,
                Err(err) => {
                    errors.push(err);
                    continue;
                }
            };
            let result = field_setting(&mut spec, &key, &value);
            if let Err(err) = result {
                errors.push(err);
            }
        }
    }
    errors.finish(spec)
}

/// Applies one `key = value` of `#[field(...)]`.
fn field_setting(spec: &mut FieldSpec, key: &str, value: &Expr) -> syn::Result<()> {
    let some = paths::some();
    let member = Ident::new(key, Span::call_site());
    match key {
        "type" => {
            let lit = string(value, "type = \"text\"")?;
            let text = lit.value();
            let Some(&(_, variant)) = STRING_TYPES.iter().find(|(t, _)| *t == text) else {
                return Err(Error::new_spanned(
                    lit,
                    format!(
                        "unknown field type \"{text}\": `type` refines a `String` field to \
                         \"string\", \"text\", \"email\" or \"url\"; other types come from the \
                         Rust type"
                    ),
                ));
            };
            spec.string_type = Some((lit, variant));
        }
        "min" | "max" => {
            let n = number(value, key)?;
            spec.settings.push(quote!(spec.#member = #some(#n);));
        }
        "min_length" | "max_length" => {
            let n = whole(value, "max_length = 200")?;
            spec.settings.push(quote!(spec.#member = #some(#n);));
        }
        "pattern" => {
            let lit = string(value, "pattern = \"^[a-z-]+$\"")?;
            spec.settings
                .push(quote!(spec.pattern = #some(::std::string::String::from(#lit));));
        }
        "default" => {
            let json = default_value(value)?;
            spec.settings.push(quote!(spec.default = #some(#json);));
        }
        "on_delete" => {
            let lit = string(value, "on_delete = \"cascade\"")?;
            let variant = match lit.value().as_str() {
                "restrict" => "Restrict",
                "cascade" => "Cascade",
                "set_null" => "SetNull",
                other => {
                    return Err(Error::new_spanned(
                        lit,
                        format!(
                            "unknown on_delete \"{other}\": use \"restrict\", \"cascade\" or \
                             \"set_null\""
                        ),
                    ));
                }
            };
            let variant = Ident::new(variant, Span::call_site());
            spec.settings
                .push(quote!(spec.on_delete = #some(::tinybase::collections::OnDelete::#variant);));
        }
        _ => unreachable!("every key in FIELD_KEYS is handled"),
    }
    Ok(())
}

/// The value of an entry whose key is known and not repeated.
fn checked_entry(
    entry: &Entry,
    key: &str,
    attribute: &str,
    keys: &[(&str, &str)],
    seen: &mut HashSet<String>,
) -> syn::Result<Expr> {
    let Some(&(_, example)) = keys.iter().find(|(k, _)| *k == key) else {
        let valid = keys
            .iter()
            .map(|(k, _)| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::new_spanned(
            &entry.key,
            format!("unknown key `{key}` in #[{attribute}(...)]; the valid keys are {valid}"),
        ));
    };
    if !seen.insert(key.to_owned()) {
        return Err(duplicate(&entry.key, key));
    }
    match &entry.value {
        Some(value) => Ok(ungroup(value.clone())),
        None => Err(Error::new_spanned(
            &entry.key,
            format!("`{key}` needs a value: write `{example}`"),
        )),
    }
}

fn duplicate(key: &Ident, name: &str) -> Error {
    Error::new_spanned(
        key,
        format!("duplicate key `{name}`: give each key at most once"),
    )
}

/// `key = value` or a bare `key`.
struct Entry {
    key: Ident,
    value: Option<Expr>,
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Self { key, value })
    }
}

fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => ungroup(*group.expr),
        Expr::Paren(paren) => ungroup(*paren.expr),
        other => other,
    }
}

fn string(value: &Expr, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(Error::new_spanned(
            value,
            format!("expected a string literal: `{example}`"),
        )),
    }
}

fn whole(value: &Expr, example: &str) -> syn::Result<u64> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
        && let Ok(n) = lit.base10_parse::<u64>()
    {
        return Ok(n);
    }
    Err(Error::new_spanned(
        value,
        format!("expected a whole number, 0 or more: `{example}`"),
    ))
}

/// A number literal, possibly negative, as an `f64` token.
fn number(value: &Expr, key: &str) -> syn::Result<TokenStream> {
    let (negative, inner) = match value {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, ungroup((**expr).clone())),
        other => (false, other.clone()),
    };
    let parsed = match &inner {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => lit.base10_parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        // The sign as its own token: a negative literal token is not portable.
        Some(n) if negative => Ok(quote!(-#n)),
        Some(n) => Ok(quote!(#n)),
        None => Err(Error::new_spanned(
            value,
            format!("expected a number: `{key} = 0` or `{key} = 2.5`"),
        )),
    }
}

/// A literal default as a `serde_json::Value` expression.
fn default_value(value: &Expr) -> syn::Result<TokenStream> {
    let json = quote!(::tinybase::serde_json::Value);
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(quote!(#json::from(#lit))),
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(quote!(#json::from(#lit))),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => {
            let n: i64 = lit.base10_parse()?;
            Ok(quote!(#json::from(#n)))
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => {
            let n: f64 = lit.base10_parse()?;
            Ok(quote!(#json::from(#n)))
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match ungroup((**expr).clone()) {
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => {
                let n: i64 = lit.base10_parse()?;
                Ok(quote!(#json::from(-#n)))
            }
            Expr::Lit(ExprLit {
                lit: Lit::Float(lit),
                ..
            }) => {
                let n: f64 = lit.base10_parse()?;
                Ok(quote!(#json::from(-#n)))
            }
            _ => Err(default_error(value)),
        },
        _ => Err(default_error(value)),
    }
}

fn default_error(value: &Expr) -> Error {
    Error::new_spanned(
        value,
        "a default is a string, number or bool literal: `default = \"draft\"`, `default = 0`",
    )
}

/// `^[a-z][a-z0-9_]{0,62}$`, the rule for collection and field names.
fn valid_name(name: &str) -> bool {
    crate::name::is_valid(name)
}

fn expand(input: &DeriveInput, args: &CollectionArgs, fields: &[FieldSpec]) -> TokenStream {
    let ident = &input.ident;
    let name = &args.name;
    let code = quote!(::tinybase::code_first);
    let collections = quote!(::tinybase::collections);
    let some = paths::some();
    let none = paths::none();
    let label = match &args.label {
        Some(label) => quote!(#some(::std::string::String::from(#label))),
        None => quote!(#none),
    };
    let rules = args.rules.iter().map(|(key, text)| {
        let key = Ident::new(&key.unraw().to_string(), key.span());
        quote!(options.#key = #collections::Rule::from(::std::string::String::from(#text));)
    });
    let max_bytes = args
        .max_record_bytes
        .map(|n| quote!(options.max_record_bytes = #n;));
    let field_blocks = fields.iter().map(|field| {
        let field_name = &field.name;
        let ty = &field.ty;
        // Spanned at the type: an unsupported type is reported there.
        let kind = quote_spanned!(ty.span()=> <#ty as #code::FieldKind>);
        let settings = &field.settings;
        let (check, retype) = match &field.string_type {
            Some((lit, variant)) => {
                let variant = Ident::new(variant, Span::call_site());
                let message = format!(
                    "`type = \"{}\"` is only for `String` and `Option<String>` fields",
                    lit.value()
                );
                (
                    quote_spanned! {lit.span()=>
                        const _: () = ::core::assert!(#kind::IS_STRING, #message);
                    },
                    quote!(spec.field_type = #collections::FieldType::#variant;),
                )
            }
            None => (TokenStream::new(), TokenStream::new()),
        };
        quote! {
            {
                #check
                let mut spec = #code::field_spec::<#ty>(#field_name);
                #retype
                #(#settings)*
                fields.push(spec);
            }
        }
    });
    let (module_path, file, line) = paths::location(ident.span());
    let submit = paths::submit();
    let type_name = ident.to_string();
    quote! {
        impl #code::Collection for #ident {
            const NAME: &'static str = #name;

            fn definition() -> #collections::NewCollection {
                let mut fields = ::std::vec::Vec::new();
                #(#field_blocks)*
                let mut options = #collections::CollectionOptions::default();
                #(#rules)*
                #max_bytes
                #collections::NewCollection {
                    name: ::std::string::String::from(#name),
                    label: #label,
                    schema: #collections::CollectionSchema { fields },
                    options,
                }
            }
        }

        #[doc(hidden)]
        const _: () = {
            #submit {
                #code::CollectionDescriptor {
                    name: #name,
                    type_name: #type_name,
                    module_path: #module_path,
                    file: #file,
                    line: #line,
                    definition: <#ident as #code::Collection>::definition,
                }
            }
        };
    }
}

/// Expands `#[derive(tinybase::Select)]` on an enum of unit variants.
pub(crate) fn derive_select(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let Data::Enum(data) = &input.data else {
        return Err(Error::new(
            input.ident.span(),
            "#[derive(tinybase::Select)] goes on an enum of unit variants: \
             `enum Status { Draft, Published }`",
        ));
    };
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &input.generics,
            "a #[derive(tinybase::Select)] enum cannot be generic",
        ));
    }
    if data.variants.is_empty() {
        errors.push(Error::new(
            input.ident.span(),
            "a select needs at least one variant",
        ));
    }
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.push(Error::new_spanned(
                &variant.fields,
                "a select's variants carry no data: its values are the variants' names as \
                 serde writes them",
            ));
        }
    }
    let ident = &input.ident;
    let variants = data.variants.iter().map(|v| &v.ident);
    let code = quote!(::tinybase::code_first);
    let tokens = quote! {
        impl #code::FieldKind for #ident {
            const FIELD_TYPE: ::tinybase::collections::FieldType =
                ::tinybase::collections::FieldType::Select;

            fn values() -> ::core::option::Option<::std::vec::Vec<::std::string::String>> {
                ::core::option::Option::Some(#code::select_values(&[#(#ident::#variants),*]))
            }
        }
    };
    errors.finish(tokens)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn error_of(tokens: proc_macro2::TokenStream) -> String {
        super::derive(tokens)
            .expect_err("should fail")
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn expands_a_collection() {
        let tokens = super::derive(quote! {
            #[collection(name = "posts", list_rule = "public", max_record_bytes = 4096)]
            struct Post {
                #[field(min_length = 1, max_length = 200, unique, indexed)]
                title: String,
                #[field(type = "text", default = "none")]
                body: Option<String>,
                #[field(min = -1.5, max = 10)]
                score: f64,
            }
        })
        .expect("expands")
        .to_string();
        assert!(
            tokens.contains("const NAME : & 'static str = \"posts\""),
            "{tokens}"
        );
        assert!(tokens.contains("spec . unique = true"), "{tokens}");
        assert!(tokens.contains("FieldType :: Text"), "{tokens}");
        assert!(tokens.contains("- 1.5f64"), "{tokens}");
        assert!(tokens.contains("max_record_bytes = 4096u64"), "{tokens}");
    }

    #[test]
    fn reports_every_mistake() {
        let message = error_of(quote! {
            #[collection(name = "Posts", colour = "red", list_rule = 3)]
            struct Post {
                #[field(max_lenght = 3, unique = true, type = "markdown")]
                title: String,
                #[field(min = "0", on_delete = "nothing", default = [1])]
                id: i64,
            }
        });
        for expected in [
            "`Posts` is not a valid collection name",
            "unknown key `colour` in #[collection(...)]",
            "expected a string literal: `list_rule = \"public\"`",
            "unknown key `max_lenght` in #[field(...)]",
            "`unique` is a flag",
            "unknown field type \"markdown\"",
            "expected a number: `min = 0`",
            "unknown on_delete \"nothing\"",
            "a default is a string, number or bool literal",
            "`id` is a system field",
        ] {
            assert!(message.contains(expected), "{expected} not in {message}");
        }
    }

    #[test]
    fn needs_a_name_and_named_fields() {
        assert!(
            error_of(quote!(
                struct Post {
                    title: String,
                }
            ))
            .contains("needs a name")
        );
        assert!(
            error_of(quote!(
                #[collection(name = "p")]
                struct Post(String);
            ))
            .contains("needs named fields")
        );
        assert!(
            error_of(quote!(
                #[collection(name = "p")]
                enum Post {
                    A,
                }
            ))
            .contains("derive `tinybase::Select`")
        );
    }

    #[test]
    fn refuses_serde_renames_and_duplicates() {
        let message = error_of(quote! {
            #[collection(name = "p", name = "q")]
            #[serde(rename_all = "camelCase")]
            struct Post {
                #[serde(rename = "t")]
                title: String,
            }
        });
        assert!(message.contains("duplicate key `name`"), "{message}");
        assert!(
            message.contains("`#[serde(rename_all)]` is not supported"),
            "{message}"
        );
        assert!(
            message.contains("`#[serde(rename)]` is not supported"),
            "{message}"
        );
    }

    #[test]
    fn select_needs_unit_variants() {
        let message = super::derive_select(quote!(
            enum Status {
                Draft,
                Other(String),
            }
        ))
        .expect_err("should fail")
        .to_string();
        assert!(message.contains("carry no data"), "{message}");
        assert!(
            super::derive_select(quote!(
                enum Status {
                    Draft,
                    Published,
                }
            ))
            .is_ok()
        );
    }
}
