//! Parsers for environment values: each turns the text of one `TINYBASE_*` variable into
//! a field's type, or says in its error what was expected.

use std::fmt;
use std::str::FromStr;

use super::settings::{Registration, SmtpTls};

/// A boolean: true/false, 1/0, yes/no or on/off, in any case.
pub(super) fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "'{value}' is not a boolean (expected true/false, 1/0, yes/no or on/off)"
        )),
    }
}

/// `auth.registration`: `open` or `closed`, in any case.
pub(super) fn parse_registration(value: &str) -> Result<Registration, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "open" => Ok(Registration::Open),
        "closed" => Ok(Registration::Closed),
        _ => Err(format!(
            "'{value}' is not a registration mode (expected open or closed)"
        )),
    }
}

/// `mail.smtp_tls`: `none`, `starttls` or `tls`, in any case.
pub(super) fn parse_smtp_tls(value: &str) -> Result<SmtpTls, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(SmtpTls::None),
        "starttls" => Ok(SmtpTls::Starttls),
        "tls" => Ok(SmtpTls::Tls),
        _ => Err(format!(
            "'{value}' is not an SMTP security mode (expected none, starttls or tls)"
        )),
    }
}

/// A TCP port number.
pub(super) fn parse_port(value: &str) -> Result<u16, String> {
    value.trim().parse().map_err(|_| {
        format!("'{value}' is not a valid port number (0-65535, where 0 picks a free port)")
    })
}

/// A whole number of `unit`s; `max` is only shown in the error message.
pub(super) fn parse_uint<T: FromStr + fmt::Display>(
    value: &str,
    max: T,
    unit: &str,
) -> Result<T, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "'{value}' is not a valid number of {unit} (expected a whole number from 0 to {max})"
        )
    })
}

/// Comma-separated list; items are trimmed and empty items dropped, so a trailing comma
/// or an empty variable yields no spurious `""` entry.
pub(super) fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `None` for an empty value, which means "unset" for optional settings.
pub(super) fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
// Panicking on an unexpected result is how a test fails.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_common_spellings() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("0", false),
            ("No", false),
            ("OFF", false),
        ] {
            assert_eq!(parse_bool(text), Ok(expected), "{text}");
        }
        assert!(parse_bool("").is_err());
        assert!(parse_bool("2").is_err());
    }
}
