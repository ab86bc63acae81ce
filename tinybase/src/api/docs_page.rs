//! The interactive API reference served at `/docs`, and the Content-Security-Policy that
//! goes with it.
//!
//! The page is Scalar's bundled reference: a small inline configuration script and
//! Scalar's whole script inline (so it works without internet access), an inline `<style>`,
//! and styles Scalar adds at run time. It needs nothing from other origins; it fetches
//! `/openapi.json` and sends "try it" requests to this server only.
//!
//! The policy therefore allows exactly the page's own inline scripts, by their SHA-256
//! hashes computed from the page itself, so an injected script (one that is not byte for
//! byte one of them) does not run. Styles stay `'unsafe-inline'`: Scalar creates style
//! elements and attributes as it renders, and styles cannot run code. Scalar's web fonts
//! (from fonts.scalar.com) are not allowed; the page falls back to the system fonts.

use std::fmt::Write as _;
use std::sync::LazyLock;

use aide::scalar::Scalar;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::constants::OPENAPI_PATH;

/// The page and its policy, built once: both are the same for every request.
pub(crate) struct DocsPage {
    /// The HTML.
    pub(crate) html: String,
    /// The `Content-Security-Policy` header value.
    pub(crate) csp: String,
}

/// The docs page.
pub(crate) static DOCS_PAGE: LazyLock<DocsPage> = LazyLock::new(|| {
    let html = Scalar::new(OPENAPI_PATH).with_title("TinyBase API").html();
    let csp = policy_for(&html);
    DocsPage { html, csp }
});

/// A policy that allows the inline scripts of `html` and nothing else that runs code.
fn policy_for(html: &str) -> String {
    let mut script_src = String::new();
    for script in inline_scripts(html) {
        let hash = BASE64.encode(Sha256::digest(script.as_bytes()));
        // Writing to a String cannot fail.
        let _ = write!(script_src, " 'sha256-{hash}'");
    }
    format!(
        "default-src 'none'; script-src{script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The text of every `<script>` element without a `src` attribute, exactly as the browser
/// hashes it (everything between the start tag and `</script>`).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after_name = &rest[start + "<script".len()..];
        let Some(tag_end) = after_name.find('>') else {
            break;
        };
        let attributes = &after_name[..tag_end];
        let body = &after_name[tag_end + 1..];
        let Some(body_end) = body.find("</script>") else {
            break;
        };
        if !attributes.contains("src=") {
            scripts.push(&body[..body_end]);
        }
        rest = &body[body_end + "</script>".len()..];
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = "<script id=\"a\"></script><p>x</p><script>let a = 1;</script>\
                    <script src=\"/x.js\"></script><script\n type=\"module\">go()</script>";
        assert_eq!(inline_scripts(html), ["", "let a = 1;", "go()"]);
    }

    #[test]
    fn the_policy_hashes_every_inline_script_of_the_page() {
        let page = &*DOCS_PAGE;
        let scripts = inline_scripts(&page.html);
        // The empty mount point, the configuration and Scalar itself.
        assert_eq!(scripts.len(), 3, "the page changed shape");
        assert!(scripts[2].len() > 100_000, "Scalar is not inline any more");
        for script in scripts {
            let hash = BASE64.encode(Sha256::digest(script.as_bytes()));
            assert!(page.csp.contains(&format!("'sha256-{hash}'")), "{hash}");
        }
        // The well-known hash of the empty script, as a cross-check of the encoding.
        assert!(
            page.csp
                .contains("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='")
        );
        assert!(!page.csp.contains("unsafe-eval"));
        assert!(!page.csp.contains("script-src 'self'"));
    }
}
