//! Function names: they become a URL segment, `POST /api/functions/{name}`.

/// The longest name allowed.
const MAX_LEN: usize = 63;

/// What a valid name looks like, for error messages.
pub(crate) const RULE: &str = "names become the URL segment in `POST /api/functions/{name}`: \
     use 1 to 63 lowercase ASCII letters, digits and `_`, starting with a letter";

/// Whether `name` matches `^[a-z][a-z0-9_]{0,62}$`.
pub(crate) fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    starts_with_letter
        && name.len() <= MAX_LEN
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_lowercase_snake_case() {
        for name in ["a", "add", "add_numbers", "v2", "a_1_b", &"a".repeat(63)] {
            assert!(is_valid(name), "{name}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_clean_url_segment() {
        for name in [
            "",
            "_add",
            "1add",
            "Add",
            "addNumbers",
            "add-numbers",
            "add numbers",
            "add/numbers",
            "café",
            &"a".repeat(64),
        ] {
            assert!(!is_valid(name), "{name}");
        }
    }
}
