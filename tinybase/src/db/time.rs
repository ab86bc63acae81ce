//! Timestamps: UTC, RFC 3339, stored as fixed-width text so that text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

/// The current time, truncated to microseconds (what the database keeps).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    parse_timestamp(&format_timestamp(now)).unwrap_or(now)
}

/// Formats a timestamp the way the database stores it: `2026-01-31T12:00:00.000000Z`.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp.
///
/// # Errors
/// A conversion error naming the bad text, for use inside `rusqlite` row mapping.
pub fn parse_timestamp(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(err))
        })
}

/// Parses a stored timestamp that may be NULL.
///
/// # Errors
/// As [`parse_timestamp`].
pub fn parse_optional_timestamp(text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_timestamp(&t)).transpose()
}
