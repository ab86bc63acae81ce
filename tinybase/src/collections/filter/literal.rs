//! Turning literals into the form they are stored and compared in.

use chrono::{DateTime, Utc};

pub(crate) use crate::text::{contains_pattern, parse_date};
use crate::text::{stored_datetime, stored_form};

/// A datetime literal in the stored form (`2026-01-31T12:00:00.000000Z`), so it compares
/// as text against stored values. Accepts RFC 3339 with any offset, or `YYYY-MM-DD` for
/// midnight UTC. Digits beyond microseconds are dropped, as they are when storing.
pub(crate) fn normalize_datetime(text: &str) -> Option<String> {
    match parse_date(text) {
        Some(date) => {
            let at: DateTime<Utc> = date.and_hms_opt(0, 0, 0)?.and_utc();
            stored_form(at)
        }
        None => stored_datetime(text).ok(),
    }
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
