//! The default description: the function's doc comment.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// The doc comment's lines joined with newlines, each without the space after `///`, and the
/// whole trimmed. Empty when there is none. `#[doc = include_str!(…)]` and other
/// non-literal docs are skipped: the macro cannot read them.
pub(crate) fn description(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        let Meta::NameValue(meta) = &attr.meta else {
            continue;
        };
        if !meta.path.is_ident("doc") {
            continue;
        }
        if let Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &meta.value
        {
            // A `/** … */` block arrives as one attribute with several lines.
            for line in text.value().split('\n') {
                let line = line.strip_prefix(' ').unwrap_or(line);
                lines.push(line.trim_end().to_owned());
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::description;

    #[test]
    fn joins_doc_lines() {
        let item: syn::ItemFn = parse_quote! {
            /// Adds two numbers.
            ///
            /// Overflow is an error.
            ///     indented stays indented
            #[inline]
            fn add() {}
        };
        assert_eq!(
            description(&item.attrs),
            "Adds two numbers.\n\nOverflow is an error.\n    indented stays indented"
        );
    }

    #[test]
    fn empty_without_docs() {
        let item: syn::ItemFn = parse_quote! {
            #[doc(hidden)]
            fn add() {}
        };
        assert_eq!(description(&item.attrs), "");
    }

    #[test]
    fn reads_block_comments() {
        let item: syn::ItemFn = parse_quote! {
            #[doc = "\n Line one.\n Line two.\n"]
            fn add() {}
        };
        assert_eq!(description(&item.attrs), "Line one.\nLine two.");
    }
}
