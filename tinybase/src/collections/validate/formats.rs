//! Text formats some field types require: datetimes, dates, URLs and record ids.
//!
//! Each checker returns the message to show when the text is bad, and the normalising
//! ones return the form to store.

use uuid::Uuid;

use crate::text::{DatetimeProblem, is_date_shaped, parse_date, stored_datetime};

/// Shown for a value that is not an RFC 3339 datetime.
pub(super) const DATETIME_MESSAGE: &str =
    "must be a date and time in RFC 3339 form with an offset, like 2026-01-31T12:00:00Z";
/// Shown for a value that is not a `YYYY-MM-DD` date.
pub(super) const DATE_MESSAGE: &str = "must be a date in YYYY-MM-DD form, like 2026-01-31";
/// Shown for a value that is not an absolute http(s) URL.
pub(super) const URL_MESSAGE: &str =
    "must be an absolute http or https URL, like https://example.com";
/// Shown for a relation value that is not a record id.
pub(super) const RECORD_ID_MESSAGE: &str = "must be a record id (a UUID)";

/// Parses an RFC 3339 datetime and returns it in UTC in the stored form.
///
/// The UTC year must have four digits: the stored form is fixed-width so that text order
/// is time order, and a year outside 0000–9999 would not parse back.
pub(super) fn normalize_datetime(text: &str) -> Result<String, &'static str> {
    stored_datetime(text).map_err(|problem| match problem {
        DatetimeProblem::NotRfc3339 => DATETIME_MESSAGE,
        DatetimeProblem::OutOfRange => "must fall between the years 0000 and 9999 in UTC",
    })
}

/// Checks that `text` is exactly `YYYY-MM-DD` and names a day that exists.
pub(super) fn check_date(text: &str) -> Result<(), &'static str> {
    if parse_date(text).is_some() {
        return Ok(());
    }
    Err(if is_date_shaped(text) {
        "must be a real calendar date"
    } else {
        DATE_MESSAGE
    })
}

/// Checks for an absolute `http`/`https` URL with a non-empty host and no whitespace.
///
/// Deliberately small: it checks the parts a link needs to work (scheme, host, port) and
/// leaves path, query and fragment alone.
pub(super) fn check_url(text: &str) -> Result<(), &'static str> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(URL_MESSAGE);
    }
    let rest = strip_prefix_ignore_case(text, "https://")
        .or_else(|| strip_prefix_ignore_case(text, "http://"))
        .ok_or(URL_MESSAGE)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host_ok, port) = match host_and_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(bracketed) => match bracketed.split_once(']') {
            Some((ip, "")) => (ip.parse::<std::net::Ipv6Addr>().is_ok(), None),
            Some((ip, after)) => match after.strip_prefix(':') {
                Some(port) => (ip.parse::<std::net::Ipv6Addr>().is_ok(), Some(port)),
                None => (false, None),
            },
            None => (false, None),
        },
        None => match host_and_port.rsplit_once(':') {
            Some((host, port)) => (is_host_name(host), Some(port)),
            None => (is_host_name(host_and_port), None),
        },
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(URL_MESSAGE)
    }
}

/// Checks that `text` is a hyphenated UUID and returns it in lower case, the form record
/// ids are stored in, so the caller's existence check compares like with like.
pub(super) fn normalize_record_id(text: &str) -> Result<String, &'static str> {
    // `Uuid::try_parse` also takes the braced, URN and unhyphenated forms; ids are only
    // ever written hyphenated, so anything else is more likely a mistake than an id.
    if text.len() != 36 {
        return Err(RECORD_ID_MESSAGE);
    }
    Uuid::try_parse(text)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| RECORD_ID_MESSAGE)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` returns None rather than panicking when the cut is not a char boundary.
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A registered name: letters (any script, for internationalised names), digits, and the
/// few punctuation marks host names and percent-encoding use.
fn is_host_name(host: &str) -> bool {
    host.chars().any(char::is_alphanumeric)
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_is_normalised_to_utc_micros() {
        assert_eq!(
            normalize_datetime("2026-01-01T01:00:00+01:00").as_deref(),
            Ok("2026-01-01T00:00:00.000000Z")
        );
        assert_eq!(
            normalize_datetime("2026-06-30T23:59:59.1234567-02:30").as_deref(),
            Ok("2026-07-01T02:29:59.123456Z")
        );
        // The stored form parses back to itself.
        assert_eq!(
            normalize_datetime("2026-01-01T00:00:00.000000Z").as_deref(),
            Ok("2026-01-01T00:00:00.000000Z")
        );
    }

    #[test]
    fn datetime_without_offset_or_out_of_range_is_rejected() {
        assert_eq!(
            normalize_datetime("2026-01-01T00:00:00"),
            Err(DATETIME_MESSAGE)
        );
        assert_eq!(normalize_datetime("2026-01-01"), Err(DATETIME_MESSAGE));
        assert_eq!(normalize_datetime("yesterday"), Err(DATETIME_MESSAGE));
        assert_eq!(
            normalize_datetime("0000-01-01T00:30:00+01:00"),
            Err("must fall between the years 0000 and 9999 in UTC")
        );
        assert_eq!(
            normalize_datetime("9999-12-31T23:30:00-01:00"),
            Err("must fall between the years 0000 and 9999 in UTC")
        );
    }

    #[test]
    fn dates_must_be_shaped_and_real() {
        assert_eq!(check_date("2026-02-28"), Ok(()));
        assert_eq!(check_date("2024-02-29"), Ok(()));
        assert_eq!(
            check_date("2026-02-30"),
            Err("must be a real calendar date")
        );
        assert_eq!(
            check_date("2026-13-01"),
            Err("must be a real calendar date")
        );
        assert_eq!(check_date("2026-2-3"), Err(DATE_MESSAGE));
        assert_eq!(check_date("2026/02/03"), Err(DATE_MESSAGE));
        assert_eq!(check_date("2026-02-03T00:00:00Z"), Err(DATE_MESSAGE));
        assert_eq!(check_date("２０２６-02-03"), Err(DATE_MESSAGE));
    }

    #[test]
    fn urls_need_http_scheme_and_host() {
        for good in [
            "https://example.com",
            "http://example.com/a/b?c=d#e",
            "HTTPS://Example.COM:8443/",
            "http://user:pw@localhost:3000",
            "http://[::1]:8080/x",
            "https://bücher.example/",
            "https://é",
            "http://[::]/",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com/a b",
            "https://example.com:",
            "https://example.com:99999",
            "https://example.com:80a",
            "https://[::1/",
            "https://[nope]/",
            "https://ex<ample.com",
            "https://.../",
            "https://a:b:80/",
            "https://[::1]x/",
            "https://[::1]80/",
            "mailto:a@example.com",
        ] {
            assert_eq!(check_url(bad), Err(URL_MESSAGE), "{bad}");
        }
    }

    #[test]
    fn record_ids_are_hyphenated_uuids_in_lower_case() {
        assert_eq!(
            normalize_record_id("0190F1A2-3B4C-7D8E-9F00-112233445566").as_deref(),
            Ok("0190f1a2-3b4c-7d8e-9f00-112233445566")
        );
        assert_eq!(
            normalize_record_id("0190f1a23b4c7d8e9f00112233445566"),
            Err(RECORD_ID_MESSAGE)
        );
        assert_eq!(
            normalize_record_id("{0190f1a2-3b4c-7d8e-9f00-1122334455}"),
            Err(RECORD_ID_MESSAGE)
        );
        assert_eq!(
            normalize_record_id("not-a-uuid-at-all-but-36-chars-long!"),
            Err(RECORD_ID_MESSAGE)
        );
    }
}
