//! Stored file names: the sanitised original name plus a random suffix
//! (`My Photo.JPG` → `my_photo_k2j3h4m5n6.jpg`), never a path.
//!
//! A stored name holds only ASCII letters, digits, `_`, `-` and `.`, never starts with a dot
//! and never holds `..`, so it is safe as one segment of a storage key and of a URL.

/// Longest kept part of the original name before the extension, in characters.
const MAX_STEM_CHARS: usize = 100;
/// Longest kept extension, in characters (without the dot).
const MAX_EXTENSION_CHARS: usize = 16;
/// Random characters added to every name.
const SUFFIX_CHARS: usize = 10;
/// Longest stored name: stem, `_`, suffix, `.`, extension.
pub const MAX_STORED_NAME_CHARS: usize =
    MAX_STEM_CHARS + 1 + SUFFIX_CHARS + 1 + MAX_EXTENSION_CHARS;
/// The stem used when nothing usable is left of the original name.
const FALLBACK_STEM: &str = "file";

/// A fresh stored name for an upload called `original` by the client.
///
/// # Errors
/// Only when the system's random source fails.
pub fn stored_name(original: &str) -> crate::Result<String> {
    let (stem, extension) = sanitise(original);
    let suffix = random_suffix()?;
    Ok(match extension {
        Some(extension) => format!("{stem}_{suffix}.{extension}"),
        None => format!("{stem}_{suffix}"),
    })
}

/// Whether `name` has the shape of a stored name (it may still not exist).
pub fn is_stored_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STORED_NAME_CHARS
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The safe stem and lower-case extension of a client's file name. Only the last path
/// segment counts (browsers on Windows send `C:\fakepath\x.png`); everything outside
/// `[A-Za-z0-9_-]` becomes `_`; runs of `_` collapse; lengths are capped.
fn sanitise(original: &str) -> (String, Option<String>) {
    let last = original
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(original)
        .trim();
    let (stem, extension) = match last.rsplit_once('.') {
        Some((stem, extension)) if !stem.trim_matches('.').is_empty() => (stem, Some(extension)),
        _ => (last, None),
    };
    let stem = clean(stem, MAX_STEM_CHARS, false);
    let stem = if stem.is_empty() {
        FALLBACK_STEM.to_owned()
    } else {
        stem
    };
    let extension = extension
        .map(|e| clean(e, MAX_EXTENSION_CHARS, true))
        .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    (stem, extension)
}

/// Keeps ASCII letters, digits and `-`; the rest becomes one `_` per run; no `_` at the
/// ends; at most `max` characters.
fn clean(text: &str, max: usize, lower: bool) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' {
            if lower { c.to_ascii_lowercase() } else { c }
        } else {
            '_'
        };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
        if out.len() >= max {
            break;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Ten random characters from `[a-z0-9]` (about 51 bits).
fn random_suffix() -> crate::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0_u8; SUFFIX_CHARS];
    getrandom::fill(&mut bytes).map_err(|err| crate::Error::internal(err.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(original: &str) -> String {
        let name = stored_name(original).unwrap();
        assert!(is_stored_name(&name), "{name:?} from {original:?}");
        // Replace the random suffix to compare.
        let (before, after) = match name.rsplit_once('.') {
            Some((b, a)) => (b.to_owned(), format!(".{a}")),
            None => (name.clone(), String::new()),
        };
        let (stem, suffix) = before.rsplit_once('_').unwrap();
        assert_eq!(suffix.len(), SUFFIX_CHARS);
        format!("{stem}_X{after}")
    }

    #[test]
    fn names_are_sanitised_with_a_random_suffix() {
        assert_eq!(shape("photo.jpg"), "photo_X.jpg");
        assert_eq!(shape("My Photo.JPG"), "My_Photo_X.jpg");
        assert_eq!(shape("../../etc/passwd"), "passwd_X");
        assert_eq!(shape("C:\\fakepath\\report.pdf"), "report_X.pdf");
        assert_eq!(shape("..."), "file_X");
        assert_eq!(shape(".htaccess"), "htaccess_X");
        assert_eq!(shape("a\u{0}b\nc.txt"), "a_b_c_X.txt");
        assert_eq!(shape("été.png"), "t_X.png");
        assert_eq!(shape(""), "file_X");
        assert_eq!(shape("x.tar.gz"), "x_tar_X.gz");
        assert_eq!(shape("x.p!g"), "x_X");
        let long = shape(&format!("{}.png", "a".repeat(1000)));
        assert_eq!(long, format!("{}_X.png", "a".repeat(MAX_STEM_CHARS)));
    }

    #[test]
    fn two_uploads_of_one_name_get_different_names() {
        assert_ne!(stored_name("a.png").unwrap(), stored_name("a.png").unwrap());
    }

    #[test]
    fn stored_names_are_single_safe_segments() {
        assert!(is_stored_name("a_b-c.png"));
        for bad in ["", ".x", "a/b", "a\\b", "a..b", "a b", "é", "%2e"] {
            assert!(!is_stored_name(bad), "{bad:?}");
        }
        assert!(!is_stored_name(&"a".repeat(MAX_STORED_NAME_CHARS + 1)));
    }
}
