//! The `Range` request header, for the one form clients use: a single byte range.

use std::ops::Range;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Wanted {
    /// The whole file (no header, several ranges, or a header that is not a byte range:
    /// RFC 9110 lets a server ignore those).
    All,
    /// These bytes.
    Part(Range<u64>),
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`.
pub(super) fn parse(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (number(start), number(end), end.trim().is_empty()) {
        // The last n bytes.
        (None, Some(n), _) if start.trim().is_empty() => {
            if n == 0 || size == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(size.saturating_sub(n)..size)
            }
        }
        (Some(first), _, true) => from(first, size.saturating_sub(1), size),
        (Some(first), Some(last), false) if first <= last => from(first, last, size),
        _ => Wanted::All,
    }
}

fn from(first: u64, last: u64, size: u64) -> Wanted {
    if first >= size {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(first..last.min(size.saturating_sub(1)) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_byte_ranges() {
        assert_eq!(parse(Some("bytes=0-9"), 100), Wanted::Part(0..10));
        assert_eq!(parse(Some("bytes=90-"), 100), Wanted::Part(90..100));
        assert_eq!(parse(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(parse(Some("bytes=-500"), 100), Wanted::Part(0..100));
        assert_eq!(parse(Some("bytes=50-500"), 100), Wanted::Part(50..100));
        assert_eq!(parse(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
    }

    #[test]
    fn anything_else_is_the_whole_file() {
        for header in [
            None,
            Some("bytes=0-1,5-6"),
            Some("items=0-1"),
            Some("bytes=5-2"),
            Some("bytes=a-b"),
            Some("bytes=-"),
        ] {
            assert_eq!(parse(header, 100), Wanted::All, "{header:?}");
        }
    }
}
