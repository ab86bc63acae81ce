//! Turning literals into the form they are stored and compared in.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::db::format_timestamp;

/// A datetime literal in the stored form (`2026-01-31T12:00:00.000000Z`), so it compares
/// as text against stored values. Accepts RFC 3339 with any offset, or `YYYY-MM-DD` for
/// midnight UTC. Digits beyond microseconds are dropped, as they are when storing.
pub(crate) fn normalize_datetime(text: &str) -> Option<String> {
    let at: DateTime<Utc> = match parse_date(text) {
        Some(date) => date.and_hms_opt(0, 0, 0)?.and_utc(),
        None => DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc),
    };
    // An offset can push a four-digit year out of four digits, which would break the
    // fixed-width text order the comparison relies on.
    (0..=9999)
        .contains(&at.year())
        .then(|| format_timestamp(at))
}

/// A calendar date written exactly `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    // chrono alone would also accept e.g. `2026-1-5` or a signed year.
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A `LIKE … ESCAPE '\'` pattern matching any text that contains `text`, with `%`, `_`
/// and `\` in it matching themselves.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_normalise_to_the_stored_form() {
        let norm = |text: &str| normalize_datetime(text);
        assert_eq!(
            norm("2026-01-31T12:00:00Z").as_deref(),
            Some("2026-01-31T12:00:00.000000Z")
        );
        assert_eq!(
            norm("2026-01-31T12:00:00+02:00").as_deref(),
            Some("2026-01-31T10:00:00.000000Z")
        );
        assert_eq!(
            norm("2026-01-31T23:30:00-01:00").as_deref(),
            Some("2026-02-01T00:30:00.000000Z")
        );
        assert_eq!(
            norm("2026-01-31T12:00:00.123456789Z").as_deref(),
            Some("2026-01-31T12:00:00.123456Z")
        );
        assert_eq!(
            norm("2026-01-31").as_deref(),
            Some("2026-01-31T00:00:00.000000Z")
        );
        assert_eq!(
            norm("2024-02-29").as_deref(),
            Some("2024-02-29T00:00:00.000000Z")
        );
        for bad in [
            "",
            "2026-02-30",
            "2025-02-29",
            "2026-1-5",
            "2026-01-31T12:00:00",
            "2026-01-31T25:00:00Z",
            "yesterday",
            "0000-01-01T00:00:00+01:00",
            "+2026-01-31",
        ] {
            assert_eq!(norm(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_must_be_exact() {
        assert!(parse_date("2026-01-31").is_some());
        for bad in [
            "2026-01-32",
            "2026-13-01",
            "26-01-31",
            "2026-01-31T00:00:00Z",
            " 2026-01-31",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn wildcards_are_escaped() {
        assert_eq!(contains_pattern("rust"), "%rust%");
        assert_eq!(contains_pattern("50%_off\\"), r"%50\%\_off\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
