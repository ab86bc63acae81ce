//! The day-of-week field of a classic five-field cron line, in the `cron` crate's terms.
//!
//! Classic cron numbers days 0–7 with 0 and 7 for Sunday; the `cron` crate numbers them
//! 1–7 with 1 for Sunday. Passing `1-5` through unchanged would turn "Monday to Friday"
//! into "Sunday to Thursday", so five-field lines have this field expanded here into an
//! explicit list of the crate's numbers.

/// Names accepted for days, as in the `cron` crate, in classic numbering.
const NAMES: [(&str, usize); 16] = [
    ("sun", 0),
    ("sunday", 0),
    ("mon", 1),
    ("monday", 1),
    ("tue", 2),
    ("tues", 2),
    ("tuesday", 2),
    ("wed", 3),
    ("wednesday", 3),
    ("thu", 4),
    ("thurs", 4),
    ("thursday", 4),
    ("fri", 5),
    ("friday", 5),
    ("sat", 6),
    ("saturday", 6),
];

/// Rewrites a classic day-of-week field as a `cron`-crate field: `*` or a list such as
/// `2,3,4,5,6` (Monday to Friday).
pub(super) fn to_crate_field(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".to_owned());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        for day in item_days(item)? {
            // 7 is another name for Sunday (0).
            days[day % 7] = true;
        }
    }
    let list: Vec<String> = days
        .iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .map(|(day, _)| (day + 1).to_string())
        .collect();
    Ok(list.join(","))
}

/// The classic day numbers (0–7) one comma-separated item names: `3`, `mon`, `1-5`,
/// `mon-fri`, `*/2`, `1-5/2` or `2/3` (from Tuesday on, every third day).
fn item_days(item: &str) -> Result<std::iter::StepBy<std::ops::RangeInclusive<usize>>, String> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(parse_step(step)?)),
        None => (item, None),
    };
    let (first, last) = if base == "*" || base == "?" {
        (0, 6)
    } else if let Some((start, end)) = base.split_once('-') {
        let (start, end) = (day(start, false)?, day(end, true)?);
        if start > end {
            return Err(format!(
                "the day-of-week range `{base}` runs backwards; write it as a list instead"
            ));
        }
        (start, end)
    } else {
        let start = day(base, false)?;
        // `N/step` runs from day N to the end of the week, as in the `cron` crate.
        let end = if step.is_some() { start.max(6) } else { start };
        (start, end)
    };
    Ok((first..=last).step_by(step.unwrap_or(1)))
}

/// One day: a number 0–7 or a name. A range ending in Sunday ends at 7, so `fri-sun` works.
fn day(text: &str, range_end: bool) -> Result<usize, String> {
    let bad = || {
        format!(
            "`{text}` is not a day of the week; use 0–7 (0 and 7 are Sunday) or a name like mon"
        )
    };
    let lower = text.to_ascii_lowercase();
    let number = match lower.parse::<usize>() {
        Ok(number) if number <= 7 => number,
        Ok(_) => return Err(bad()),
        Err(_) => NAMES
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, number)| *number)
            .ok_or_else(bad)?,
    };
    Ok(if range_end && number == 0 { 7 } else { number })
}

/// A step after `/`: a whole number of at least 1.
fn parse_step(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(step) if step >= 1 => Ok(step),
        _ => Err(format!(
            "the day-of-week step `/{text}` must be a whole number of at least 1"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_numbers_become_crate_numbers() {
        let cases = [
            ("*", "*"),
            ("?", "*"),
            ("0", "1"),
            ("7", "1"),
            ("1", "2"),
            ("6", "7"),
            ("1-5", "2,3,4,5,6"),
            ("mon-fri", "2,3,4,5,6"),
            ("MON,Wed,friday", "2,4,6"),
            ("fri-sun", "1,6,7"),
            ("5-7", "1,6,7"),
            ("0,7", "1"),
            ("*/2", "1,3,5,7"),
            ("1-5/2", "2,4,6"),
            ("2/3", "3,6"),
            ("sat", "7"),
        ];
        for (classic, expected) in cases {
            assert_eq!(
                to_crate_field(classic),
                Ok(expected.to_owned()),
                "{classic}"
            );
        }
    }

    #[test]
    fn bad_days_are_refused_with_a_reason() {
        for (bad, needle) in [
            ("8", "`8` is not a day of the week"),
            ("funday", "`funday` is not a day"),
            ("5-1", "runs backwards"),
            ("1,,2", "`` is not a day"),
            ("*/0", "step `/0`"),
            ("1-5/x", "step `/x`"),
            ("-1", "`` is not a day"),
        ] {
            let err = to_crate_field(bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
