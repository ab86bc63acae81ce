//! Rules for text that several parts of TinyBase read: calendar dates, datetimes in their
//! stored form, email addresses and `LIKE` patterns. One definition each, so a date that
//! a filter accepts is a date that a field and a schedule accept too. Callers attach
//! their own messages.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::db::format_timestamp;

/// The longest email address accepted, in characters as sent (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// The shape of what [`check_email`] accepts, as a regular expression for the API's JSON
/// Schemas (with `maxLength` [`MAX_EMAIL_LEN`] for the length): optional spaces, tabs and
/// line breaks around `local@domain`, the domain with a dot that neither starts nor ends
/// it, and no `@`, white space (Unicode's `White_Space`) or control character inside. No
/// look-around, so every regex engine clients use can read it. Keep the two in step: the
/// OpenAPI fuzzing in CI sends addresses drawn from this pattern and from outside it, and
/// expects the server to agree.
pub const EMAIL_PATTERN: &str = concat!(
    r"^[ \t\n\r]*",
    r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+",
    "@",
    r"[^.@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"\.",
    r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"[^.@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[ \t\n\r]*$",
);

/// A calendar date written exactly `YYYY-MM-DD` that exists (no `2026-1-5`, no signed
/// years, no 30 February).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if !is_date_shaped(text) {
        return None;
    }
    // All ten bytes are ASCII, so these slices fall on character boundaries.
    let year = text[..4].parse().ok()?;
    let month = text[5..7].parse().ok()?;
    let day = text[8..].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Whether `text` is written `YYYY-MM-DD` (ASCII digits), real day or not: tells "not a
/// date" from "not a day that exists" in messages.
pub fn is_date_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Why a datetime cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatetimeProblem {
    /// Not RFC 3339 with an offset.
    NotRfc3339,
    /// Outside the years 0000–9999 once in UTC.
    OutOfRange,
}

/// An RFC 3339 datetime (any offset) in the stored form: UTC with six fractional digits
/// (`2026-01-31T12:00:00.000000Z`). The stored form is fixed-width so that text order is
/// time order, so the UTC year must have four digits. Digits beyond microseconds are
/// dropped.
///
/// # Errors
/// What is wrong with the text.
pub fn stored_datetime(text: &str) -> Result<String, DatetimeProblem> {
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| DatetimeProblem::NotRfc3339)?
        .with_timezone(&Utc);
    stored_form(at).ok_or(DatetimeProblem::OutOfRange)
}

/// `at` in the stored form, if its year has four digits.
pub fn stored_form(at: DateTime<Utc>) -> Option<String> {
    (0..=9999)
        .contains(&at.year())
        .then(|| format_timestamp(at))
}

/// Trims spaces, tabs and line breaks and lower-cases an email so `Ann@Example.com ` and
/// `ann@example.com` are one account. Other white space is not trimmed (and makes the
/// address invalid), so that [`EMAIL_PATTERN`] can say exactly what is accepted.
pub fn normalize_email(email: &str) -> String {
    email
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        .to_lowercase()
}

/// Checks an email address as sent: at most [`MAX_EMAIL_LEN`] characters (padding
/// included) and, once [`normalize_email`]d, `local@domain` as [`EMAIL_PATTERN`] says.
/// Returns the message to show when it is bad.
pub fn check_email(input: &str) -> Option<&'static str> {
    if input.chars().count() > MAX_EMAIL_LEN {
        return Some("must be an email address of at most 254 characters");
    }
    let email = normalize_email(input);
    let Some((local, domain)) = email.split_once('@') else {
        return Some("must be an email address like name@example.com");
    };
    let valid = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        None
    } else {
        Some("must be an email address like name@example.com")
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching any text that contains `text`, with `%`, `_`
/// and `\` in it matching themselves.
pub fn contains_pattern(text: &str) -> String {
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
    fn dates_must_be_exactly_shaped_and_real() {
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "2023-02-29",
            "2026-1-05",
            "2026-01-5",
            "+2026-01-05",
            "2026/01/05",
            "20260105",
            "2026-13-01",
            "2026-00-10",
            "２０２６-01-05",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetimes_are_stored_in_utc_with_microseconds_and_four_digit_years() {
        assert_eq!(
            stored_datetime("2026-01-31T13:00:00.1234567+01:00").as_deref(),
            Ok("2026-01-31T12:00:00.123456Z")
        );
        assert_eq!(
            stored_datetime("2026-01-31"),
            Err(DatetimeProblem::NotRfc3339)
        );
        assert_eq!(
            stored_datetime("0000-01-01T00:30:00+01:00"),
            Err(DatetimeProblem::OutOfRange)
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ann@Example.COM "), "ann@example.com");
        assert_eq!(check_email("ann@example.com"), None);
        for bad in [
            "ann",
            "@example.com",
            "ann@example",
            "a@b@c.d",
            "a b@c.d",
            "ann@.com",
        ] {
            assert!(check_email(bad).is_some(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_LEN));
        assert!(check_email(&long).is_some());
        // The limit counts characters, as the schema's pattern does.
        let longest = format!("{}@example.com", "é".repeat(MAX_EMAIL_LEN - 12));
        assert_eq!(longest.chars().count(), MAX_EMAIL_LEN);
        assert_eq!(check_email(&longest), None);
        // Only spaces, tabs and line breaks are padding; other white space is refused.
        assert_eq!(normalize_email("\t ann@example.com\r\n"), "ann@example.com");
        assert!(check_email("\u{a0}ann@example.com").is_some());
        // The limit counts the address as sent, padding included (the schema's
        // `maxLength`).
        let padded = format!("  {}", &longest);
        assert!(check_email(&padded).is_some());
    }

    #[test]
    fn the_schema_pattern_and_length_accept_exactly_what_check_email_accepts() {
        let pattern = regex::Regex::new(EMAIL_PATTERN).unwrap();
        let schema_accepts =
            |text: &str| pattern.is_match(text) && text.chars().count() <= MAX_EMAIL_LEN;
        let long_local = "a".repeat(MAX_EMAIL_LEN - 12);
        let samples = [
            "ann@example.com".to_owned(),
            "  Ann@Example.COM \r\n".to_owned(),
            "\tann@example.com".to_owned(),
            "\u{a0}ann@example.com".to_owned(),
            "ann@example.com\u{2003}".to_owned(),
            "\u{b}ann@example.com".to_owned(),
            "a\u{0}b@example.com".to_owned(),
            "a\u{85}b@example.com".to_owned(),
            "ann@exa mple.com".to_owned(),
            "ann@example".to_owned(),
            "ann@.example.com".to_owned(),
            "ann@example.com.".to_owned(),
            "ann@ex..ample".to_owned(),
            "ann@@example.com".to_owned(),
            "a@b@example.com".to_owned(),
            "@example.com".to_owned(),
            "ann".to_owned(),
            String::new(),
            "é@ü.ß".to_owned(),
            "İ@x.y".to_owned(),
            format!("{long_local}@example.com"),
            format!("{long_local}a@example.com"),
            format!(" {long_local}@example.com"),
        ];
        for sample in &samples {
            assert_eq!(
                schema_accepts(sample),
                check_email(sample).is_none(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn contains_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
