//! The text parts of a schedule: dates, times of day and time-zone names.
//!
//! Each parser returns the message to show under the field when the text is bad.

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

/// Shown for a date that is not `YYYY-MM-DD`.
const DATE_MESSAGE: &str = "must be a date in YYYY-MM-DD form, like 2026-12-24";
/// Shown for a time that is not `HH:MM` or `HH:MM:SS`.
const TIME_MESSAGE: &str = "must be a 24-hour time in HH:MM or HH:MM:SS form, like 18:00";

/// Parses an exact `YYYY-MM-DD` date that exists in the calendar.
pub(super) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    if let Some(date) = crate::text::parse_date(text) {
        return Ok(date);
    }
    if crate::text::is_date_shaped(text) {
        Err(format!("{text} is not a real calendar date"))
    } else {
        Err(DATE_MESSAGE.to_owned())
    }
}

/// Parses an exact `HH:MM` or `HH:MM:SS` time of day (no leap seconds).
pub(super) fn parse_time(text: &str) -> Result<NaiveTime, String> {
    let (hour, minute, second) = if let Some([h, m]) = numbers(text, ':', &[2, 2]) {
        (h, m, 0)
    } else if let Some([h, m, s]) = numbers(text, ':', &[2, 2, 2]) {
        (h, m, s)
    } else {
        return Err(TIME_MESSAGE.to_owned());
    };
    // `from_hms_opt` also refuses second 60, so a leap second is not a valid time here.
    NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(|| TIME_MESSAGE.to_owned())
}

/// Parses an IANA time-zone name such as `Europe/Berlin` or `UTC` (case-sensitive, as the
/// names are).
pub(super) fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone `{name}`; use an IANA name like Europe/Berlin"))
}

/// Splits `text` on `separator` into parts of exactly the given digit counts.
fn numbers<const N: usize>(text: &str, separator: char, widths: &[usize; N]) -> Option<[u32; N]> {
    let mut parts = text.split(separator);
    let mut out = [0; N];
    for (slot, &width) in out.iter_mut().zip(widths) {
        let part = parts.next()?;
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_exact_and_real() {
        assert_eq!(
            parse_date("2026-12-24"),
            NaiveDate::from_ymd_opt(2026, 12, 24).ok_or(String::new())
        );
        for bad in [
            "2026-1-24",
            "26-12-24",
            "2026/12/24",
            "2026-12-24T00:00",
            "+2026-12-24",
            "",
            "２０２６-12-24",
        ] {
            assert_eq!(parse_date(bad), Err(DATE_MESSAGE.to_owned()), "{bad}");
        }
        assert_eq!(
            parse_date("2026-02-30"),
            Err("2026-02-30 is not a real calendar date".to_owned())
        );
        assert!(parse_date("2028-02-29").is_ok());
    }

    #[test]
    fn times_take_minutes_or_seconds() {
        assert_eq!(
            parse_time("18:00"),
            NaiveTime::from_hms_opt(18, 0, 0).ok_or(String::new())
        );
        assert_eq!(
            parse_time("23:59:59"),
            NaiveTime::from_hms_opt(23, 59, 59).ok_or(String::new())
        );
        for bad in [
            "24:00",
            "9:00",
            "18:60",
            "23:59:60",
            "18:00:00:00",
            "18",
            "18:00 ",
            "-1:00",
        ] {
            assert_eq!(parse_time(bad), Err(TIME_MESSAGE.to_owned()), "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(parse_timezone("Europe/Berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
        assert_eq!(
            parse_timezone("Europe/Berln"),
            Err("unknown time zone `Europe/Berln`; use an IANA name like Europe/Berlin".to_owned())
        );
        // The whole IANA database is there, old link names included.
        for name in [
            "Asia/Calcutta",
            "US/Eastern",
            "Etc/GMT+5",
            "America/Argentina/Ushuaia",
        ] {
            assert!(parse_timezone(name).is_ok(), "{name}");
        }
        assert!(chrono_tz::TZ_VARIANTS.len() > 590);
        assert!(parse_timezone("europe/berlin").is_err());
        assert!(parse_timezone("").is_err());
    }
}
