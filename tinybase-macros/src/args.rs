//! Parsing `#[tinybase::function(name = "…", description = "…", auth = "…", tags = [...],
//! timeout = N)]`. Every mistake is reported, not just the first.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::name;

/// The keys the attribute accepts, each with an example.
const KEYS: &[(&str, &str)] = &[
    ("name", "name = \"add_numbers\""),
    ("description", "description = \"Adds two numbers\""),
    ("auth", "auth = \"public\""),
    ("tags", "tags = [\"math\", \"demo\"]"),
    ("timeout", "timeout = 30"),
];

/// Who may call the function over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthLevel {
    Public,
    Auth,
    Admin,
}

impl AuthLevel {
    /// The `AuthLevel` variant it becomes.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Public => "Public",
            Self::Auth => "Auth",
            Self::Admin => "Admin",
        }
    }
}

/// The attribute's arguments, checked.
#[derive(Debug)]
pub(crate) struct FunctionArgs {
    /// `name = "…"`, already checked against the name rule.
    pub(crate) name: Option<String>,
    /// `description = "…"`.
    pub(crate) description: Option<String>,
    /// `auth = "…"`; `auth` when absent.
    pub(crate) auth: AuthLevel,
    /// `tags = [...]`.
    pub(crate) tags: Vec<String>,
    /// `timeout = N`, in seconds, greater than zero.
    pub(crate) timeout: Option<u64>,
}

impl FunctionArgs {
    /// Parses and checks the attribute's arguments.
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let entries = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = Self {
            name: None,
            description: None,
            auth: AuthLevel::Auth,
            tags: Vec::new(),
            timeout: None,
        };
        let mut errors = Errors::default();
        let mut seen = HashSet::new();
        for entry in entries {
            let key = entry.key.unraw().to_string();
            let Some(&(_, example)) = KEYS.iter().find(|(k, _)| *k == key) else {
                errors.push(Error::new_spanned(
                    &entry.key,
                    format!(
                        "unknown key `{key}` in #[tinybase::function]; the valid keys are {}",
                        valid_keys()
                    ),
                ));
                continue;
            };
            if !seen.insert(key.clone()) {
                errors.push(Error::new_spanned(
                    &entry.key,
                    format!("duplicate key `{key}`: give each key at most once"),
                ));
                continue;
            }
            let Some(value) = entry.value else {
                errors.push(Error::new_spanned(
                    &entry.key,
                    format!("`{key}` needs a value: write `{example}`"),
                ));
                continue;
            };
            let value = ungroup(value);
            let result = match key.as_str() {
                "name" => parse_name(&value).map(|v| args.name = Some(v)),
                "description" => {
                    string(&value, example).map(|v| args.description = Some(v.value()))
                }
                "auth" => parse_auth(&value).map(|v| args.auth = v),
                "tags" => parse_tags(&value).map(|v| args.tags = v),
                "timeout" => parse_timeout(&value).map(|v| args.timeout = Some(v)),
                _ => unreachable!("every key in KEYS is handled"),
            };
            if let Err(err) = result {
                errors.push(err);
            }
        }
        errors.finish(args)
    }
}

/// `key = value`, or a bare `key` (reported as missing its value).
struct Entry {
    key: Ident,
    value: Option<Expr>,
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any).map_err(|err| {
            Error::new(
                err.span(),
                format!(
                    "expected `key = value` in #[tinybase::function], e.g. `name = \"add_numbers\"`; \
                     the valid keys are {}",
                    valid_keys()
                ),
            )
        })?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Self { key, value })
    }
}

/// Collects several errors into one.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: Error) {
        match &mut self.0 {
            Some(first) => first.combine(err),
            None => self.0 = Some(err),
        }
    }

    /// `Ok(value)` when nothing was pushed.
    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }
}

fn valid_keys() -> String {
    KEYS.iter()
        .map(|(key, _)| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values from `macro_rules!` fragments arrive wrapped in invisible groups.
fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => ungroup(*group.expr),
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

fn parse_name(value: &Expr) -> syn::Result<String> {
    let lit = string(value, "name = \"add_numbers\"")?;
    let name = lit.value();
    if name::is_valid(&name) {
        Ok(name)
    } else {
        Err(Error::new_spanned(
            lit,
            format!(
                "`{name}` is not a valid function name; {}, e.g. `name = \"add_numbers\"`",
                name::RULE
            ),
        ))
    }
}

fn parse_auth(value: &Expr) -> syn::Result<AuthLevel> {
    const VALUES: &str = "\"public\" (anyone), \"auth\" (signed-in users, the default) or \
                          \"admin\" (admins only)";
    let lit = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
        _ => {
            return Err(Error::new_spanned(
                value,
                format!("expected a string: `auth = \"public\"`; use {VALUES}"),
            ));
        }
    };
    match lit.value().as_str() {
        "public" => Ok(AuthLevel::Public),
        "auth" => Ok(AuthLevel::Auth),
        "admin" => Ok(AuthLevel::Admin),
        other => Err(Error::new_spanned(
            lit,
            format!("unknown auth level \"{other}\"; use {VALUES}"),
        )),
    }
}

fn parse_tags(value: &Expr) -> syn::Result<Vec<String>> {
    const EXAMPLE: &str = "tags = [\"math\", \"demo\"]";
    let Expr::Array(array) = value else {
        return Err(Error::new_spanned(
            value,
            format!("expected a list of strings: `{EXAMPLE}`"),
        ));
    };
    let mut tags = Vec::new();
    let mut errors = Errors::default();
    for element in &array.elems {
        match ungroup(element.clone()) {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) if lit.value().trim().is_empty() => {
                errors.push(Error::new_spanned(lit, "a tag cannot be empty"));
            }
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => tags.push(lit.value()),
            _ => errors.push(Error::new_spanned(
                element,
                format!("tags must be string literals: `{EXAMPLE}`"),
            )),
        }
    }
    errors.finish(tags)
}

fn parse_timeout(value: &Expr) -> syn::Result<u64> {
    let error = || {
        Error::new_spanned(
            value,
            "`timeout` is a whole number of seconds greater than 0, e.g. `timeout = 30`",
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(error());
    };
    let suffix_ok = matches!(lit.suffix(), "" | "u8" | "u16" | "u32" | "u64" | "usize");
    match lit.base10_parse::<u64>() {
        Ok(seconds) if seconds > 0 && suffix_ok => Ok(seconds),
        _ => Err(error()),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{AuthLevel, FunctionArgs};

    fn error_of(tokens: proc_macro2::TokenStream) -> String {
        let err = FunctionArgs::parse(tokens).expect_err("should fail");
        err.into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn defaults_when_empty() {
        let args = FunctionArgs::parse(quote!()).unwrap();
        assert_eq!(args.name, None);
        assert_eq!(args.description, None);
        assert_eq!(args.auth, AuthLevel::Auth);
        assert!(args.tags.is_empty());
        assert_eq!(args.timeout, None);
    }

    #[test]
    fn parses_every_key() {
        let args = FunctionArgs::parse(quote!(
            name = "add_numbers",
            description = "Adds.",
            auth = "admin",
            tags = ["math", "demo"],
            timeout = 30,
        ))
        .unwrap();
        assert_eq!(args.name.as_deref(), Some("add_numbers"));
        assert_eq!(args.description.as_deref(), Some("Adds."));
        assert_eq!(args.auth, AuthLevel::Admin);
        assert_eq!(args.tags, ["math", "demo"]);
        assert_eq!(args.timeout, Some(30));
    }

    #[test]
    fn reports_every_mistake() {
        let message = error_of(quote!(
            nme = "x",
            auth = "root",
            auth = "admin",
            tags = [1],
            timeout = 0,
            name = "Add"
        ));
        assert!(message.contains("unknown key `nme`"), "{message}");
        assert!(message.contains("unknown auth level \"root\""), "{message}");
        assert!(message.contains("duplicate key `auth`"), "{message}");
        assert!(
            message.contains("tags must be string literals"),
            "{message}"
        );
        assert!(message.contains("greater than 0"), "{message}");
        assert!(
            message.contains("`Add` is not a valid function name"),
            "{message}"
        );
    }

    #[test]
    fn rejects_bad_timeouts() {
        for tokens in [
            quote!(timeout = -1),
            quote!(timeout = "30"),
            quote!(timeout = 1.5),
            quote!(timeout = 30s),
        ] {
            assert!(error_of(tokens).contains("whole number of seconds"));
        }
    }

    #[test]
    fn a_key_without_value_says_what_to_write() {
        assert!(error_of(quote!(auth)).contains("write `auth = \"public\"`"));
    }
}
