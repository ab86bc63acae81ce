//! SQLite's own conversions between floating-point values and decimal text, ported from the
//! bundled SQLite (3.53, `util.c` and `printf.c`; SQLite is in the public domain).
//!
//! The in-memory evaluator needs them to give SQLite's answers exactly:
//! - `json_extract` reads a JSON number that is not an `i64` with `sqlite3AtoF`, which keeps
//!   only about 19 significant digits, so a large integer such as `18446744073709551615`
//!   can become a different double than a correctly rounding parser would give;
//! - `LIKE` applied to a REAL reads its text, which SQLite renders as `%!.17g` with its own
//!   rule for dropping noise digits (`0.1` rather than `0.10000000000000001`, but
//!   `0.30000000000000004` as it is) and its own exponent style (`1.0e+300`).
//!
//! Neither is what Rust's formatting or parsing gives, and approximating them would make a
//! realtime filter disagree with the list endpoint on some values.
//!
//! The arithmetic is kept as in the C source, unsigned wrap-around included; shifts are
//! checked so that no input can panic, though SQLite keeps every shift amount in range.

/// The smallest power of ten the tables cover.
const POWERS_OF_TEN_FIRST: i32 = -348;
/// The largest power of ten the tables cover.
const POWERS_OF_TEN_LAST: i32 = 347;

/// `10^p` for `p` in `0..27`, shifted so the top bit is set.
const BASE: [u64; 27] = [
    0x8000000000000000,
    0xa000000000000000,
    0xc800000000000000,
    0xfa00000000000000,
    0x9c40000000000000,
    0xc350000000000000,
    0xf424000000000000,
    0x9896800000000000,
    0xbebc200000000000,
    0xee6b280000000000,
    0x9502f90000000000,
    0xba43b74000000000,
    0xe8d4a51000000000,
    0x9184e72a00000000,
    0xb5e620f480000000,
    0xe35fa931a0000000,
    0x8e1bc9bf04000000,
    0xb1a2bc2ec5000000,
    0xde0b6b3a76400000,
    0x8ac7230489e80000,
    0xad78ebc5ac620000,
    0xd8d726b7177a8000,
    0x878678326eac9000,
    0xa968163f0a57b400,
    0xd3c21bcecceda100,
    0x84595161401484a0,
    0xa56fa5b99019a5c8,
];

/// The top 64 bits of `10^(27*(i-13))` (`10^-1` at index 13).
const SCALE: [u64; 26] = [
    0x8049a4ac0c5811ae,
    0xcf42894a5dce35ea,
    0xa76c582338ed2621,
    0x873e4f75e2224e68,
    0xda7f5bf590966848,
    0xb080392cc4349dec,
    0x8e938662882af53e,
    0xe65829b3046b0afa,
    0xba121a4650e4ddeb,
    0x964e858c91ba2655,
    0xf2d56790ab41c2a2,
    0xc428d05aa4751e4c,
    0x9e74d1b791e07e48,
    0xcccccccccccccccc,
    0xcecb8f27f4200f3a,
    0xa70c3c40a64e6c51,
    0x86f0ac99b4e8dafd,
    0xda01ee641a708de9,
    0xb01ae745b101e9e4,
    0x8e41ade9fbebc27d,
    0xe5d3ef282a242e81,
    0xb9a74a0637ce2ee1,
    0x95f83d0a1fb69cd9,
    0xf24a01a73cf2dccf,
    0xc3b8358109e84f07,
    0x9e19db92b4e31ba9,
];

/// The next 32 bits of each [`SCALE`] entry.
const SCALE_LO: [u32; 26] = [
    0x205b896d, 0x52064cad, 0xaf2af2b8, 0x5a7744a7, 0xaf39a475, 0xbd8d794e, 0x547eb47b, 0x0cb4a5a3,
    0x92f34d62, 0x3a6a07f9, 0xfae27299, 0xaa97e14c, 0x775ea265, 0xcccccccc, 0x00000000, 0x999090b6,
    0x69a028bb, 0xe80e6f48, 0x5ec05dd0, 0x14588f14, 0x8f1668c9, 0x6d953e2c, 0x4abdaf10, 0xbc633b39,
    0x0a862f81, 0x6c07a2c2,
];

/// `1 << n`, or 0 when `n` is out of range (never, for the callers here).
fn bit(n: i32) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| 1u64.checked_shl(n))
        .unwrap_or(0)
}

/// `x >> n` for `n` in `0..64`; 0 otherwise.
fn shr(x: u64, n: i32) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| x.checked_shr(n))
        .unwrap_or(0)
}

/// `x << n` for `n` in `0..64`; 0 otherwise.
fn shl(x: u64, n: i32) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| x.checked_shl(n))
        .unwrap_or(0)
}

/// The high and low 64 bits of `a * b` (`sqlite3Multiply128`).
fn multiply128(a: u64, b: u64) -> (u64, u64) {
    let r = u128::from(a) * u128::from(b);
    // Truncations intended: the two halves of the product.
    ((r >> 64) as u64, r as u64)
}

/// The upper 96 bits of `((a << 32) + a_lo) * b`, as (top 64, next 32)
/// (`sqlite3Multiply160`).
fn multiply160(a: u64, a_lo: u32, b: u64) -> (u64, u32) {
    // Cannot overflow: a*b <= 2^128 - 2^65 + 1 and the addend is below 2^64.
    let r = u128::from(a) * u128::from(b) + ((u128::from(a_lo) * u128::from(b)) >> 32);
    ((r >> 64) as u64, ((r >> 32) & 0xffff_ffff) as u32)
}

/// The most significant 64 bits of `10^p`, and the 32 after them (`powerOfTen`).
fn power_of_ten(p: i32) -> (u64, u32) {
    let at = |i: i32| usize::try_from(i).unwrap_or(usize::MAX);
    let (mut g, mut n);
    if p < 0 {
        if p == -1 {
            return (SCALE[13], SCALE_LO[13]);
        }
        g = p / 27;
        n = p % 27;
        if n != 0 {
            g -= 1;
            n += 27;
        }
    } else if p < 27 {
        return (BASE.get(at(p)).copied().unwrap_or(0), 0);
    } else {
        g = p / 27;
        n = p % 27;
    }
    let s = SCALE.get(at(g + 13)).copied().unwrap_or(0);
    let s_lo = SCALE_LO.get(at(g + 13)).copied().unwrap_or(0);
    if n == 0 {
        return (s, s_lo);
    }
    let (mut x, mut lo) = multiply160(s, s_lo, BASE.get(at(n)).copied().unwrap_or(0));
    if x & bit(63) == 0 {
        x = (x << 1) | u64::from((lo >> 31) & 1);
        lo = (lo << 1) | 1;
    }
    (x, lo)
}

/// `floor(log2(10^p))`, approximately (`pwr10to2`).
fn pwr10to2(p: i32) -> i32 {
    (p * 108_853) >> 15
}

/// `floor(log10(2^p))`, approximately (`pwr2to10`).
fn pwr2to10(p: i32) -> i32 {
    (p * 78_913) >> 18
}

/// `m * 2^e` as `d * 10^p` with at least `n` significant digits in `d`
/// (`sqlite3Fp2Convert10`). `m` has its top bit set.
fn fp2_convert10(m: u64, e: i32, n: i32) -> (u64, i32) {
    let p = n - 1 - pwr2to10(e + 63);
    let (mut h, _) = multiply128(m, power_of_ten(p).0);
    let d = if n == 18 {
        h = shr(h, -(e + pwr10to2(p) + 2));
        h.wrapping_add((h << 1) & 2) >> 1
    } else {
        shr(h, -(e + pwr10to2(p) + 1))
    };
    (d, -p)
}

/// The double nearest `d * 10^p` (`sqlite3Fp10Convert2`).
fn fp10_convert2(d: u64, p: i32) -> f64 {
    if p < POWERS_OF_TEN_FIRST {
        return 0.0;
    }
    if p > POWERS_OF_TEN_LAST {
        return f64::INFINITY;
    }
    // `leading_zeros` is at most 64, so this fits.
    let b = 64 - d.leading_zeros() as i32;
    let lp = pwr10to2(p);
    let mut e = 53 - b - lp;
    if e > 1074 {
        if e >= 1130 {
            return 0.0;
        }
        e = 1074;
    }
    let s = -(e - (64 - b) + lp + 3);
    let (mut pwr10h, mut pwr10l) = power_of_ten(p);
    if pwr10l != 0 {
        pwr10h = pwr10h.wrapping_add(1);
        pwr10l = !pwr10l;
    }
    let x = shl(d, 64 - b);
    let (mut hi, lo) = multiply128(x, pwr10h);
    let mid1 = (lo >> 32) as u32;
    let mut sticky = 1;
    if hi & bit(s).wrapping_sub(1) == 0 {
        let mid2 = (multiply128(x, u64::from(pwr10l) << 32).0 >> 32) as u32;
        sticky = u64::from(mid1.wrapping_sub(mid2) > 1);
        hi = hi.wrapping_sub(u64::from(mid1 < mid2));
    }
    let mut u = shr(hi, s) | sticky;
    if u >= bit(55) - 2 {
        u = (u >> 1) | (u & 1);
        e -= 1;
    }
    let mut m = u.wrapping_add(1).wrapping_add((u >> 2) & 1) >> 2;
    if e <= -972 {
        return f64::INFINITY;
    }
    if m & bit(52) != 0 {
        // 1075 - e is the biased exponent, 1..=2046 here.
        m = (m & !bit(52)) | shl(u64::from((1075 - e).unsigned_abs()), 52);
    }
    f64::from_bits(m)
}

/// The REAL SQLite reads from number text such as JSON's `-12.5e3` (`sqlite3AtoF` on
/// well-formed input). Only about the first 19 significant digits count.
pub(crate) fn parse_real(text: &str) -> f64 {
    // (LARGEST_UINT64 - 9) / 10: past this, another digit could overflow.
    const LIMIT: u64 = (u64::MAX - 9) / 10;
    let mut bytes = text.as_bytes().iter().copied().peekable();
    let digit = |b: Option<&u8>| {
        b.filter(|b| b.is_ascii_digit())
            .map(|b| u64::from(b - b'0'))
    };
    let negative = bytes.next_if_eq(&b'-').is_some();
    bytes.next_if_eq(&b'+');
    let mut s: u64 = 0;
    let mut d: i32 = 0;
    while let Some(v) = digit(bytes.peek()) {
        bytes.next();
        s = s * 10 + v;
        if s >= LIMIT {
            while digit(bytes.peek()).is_some() {
                bytes.next();
                d = d.saturating_add(1);
            }
            break;
        }
    }
    if bytes.next_if_eq(&b'.').is_some() {
        while let Some(v) = digit(bytes.peek()) {
            bytes.next();
            if s < LIMIT {
                s = s * 10 + v;
                d = d.saturating_sub(1);
            }
        }
    }
    if bytes.next_if(|b| matches!(b, b'e' | b'E')).is_some() {
        let sign = if bytes.next_if_eq(&b'-').is_some() {
            -1
        } else {
            bytes.next_if_eq(&b'+');
            1
        };
        let mut exp: i32 = 0;
        while let Some(v) = digit(bytes.peek()) {
            bytes.next();
            // Digits are 0..=9, so this fits.
            let v = v as i32;
            exp = if exp < 10_000 { exp * 10 + v } else { 10_000 };
        }
        d = d.saturating_add(sign * exp);
    }
    let r = if s == 0 { 0.0 } else { fp10_convert2(s, d) };
    if negative { -r } else { r }
}

/// A finite double's decimal digits as `sqlite3FpDecode(r, 17, 20)` gives them: the
/// sign, the significant digits (no trailing zeros) and where the decimal point goes.
struct Decoded {
    negative: bool,
    digits: Vec<u8>,
    /// The digits are `0.d1d2… × 10^point`.
    point: i32,
}

/// The digit at `i`, or `0` past the end (which SQLite never reads).
fn digit_at(z: &[u8], i: usize) -> u8 {
    z.get(i).copied().unwrap_or(b'0')
}

/// `sqlite3FpDecode` for the `%!.17g` case: 17 significant digits, fewer when up to 14
/// of them give back the same double.
fn decode(r: f64) -> Decoded {
    const ROUND: usize = 17;
    let (negative, r) = if r < 0.0 { (true, -r) } else { (false, r) };
    if r == 0.0 {
        // Negative zero is not `< 0.0`, so it has no sign either.
        return Decoded {
            negative,
            digits: vec![b'0'],
            point: 1,
        };
    }
    let bits = r.to_bits();
    // 11 bits, so it fits.
    let mut e = ((bits >> 52) & 0x7ff) as i32;
    let mut v = bits & 0x000f_ffff_ffff_ffff;
    if e == 0 {
        let nn = v.leading_zeros();
        v <<= nn;
        // At most 64, so it fits.
        e = -1074 - nn as i32;
    } else {
        v = (v << 11) | bit(63);
        e -= 1086;
    }
    let (v, exp) = fp2_convert10(v, e, 18);

    // SQLite writes the digits right-aligned into a 20-byte buffer and may prepend a
    // carry digit; a leading slot here plays that part.
    let mut z: Vec<u8> = std::iter::once(b'0').chain(v.to_string().bytes()).collect();
    let mut first = 1;
    let digits_read = z.len() - 1;
    let mut n = digits_read;
    // At most 20 digits, so it fits.
    let mut point = n as i32 + exp;

    if ROUND < n {
        let mut round = ROUND;
        let value_of = |z: &[u8], count: usize| {
            (0..count).fold(0u64, |acc, i| {
                acc.wrapping_mul(10)
                    .wrapping_add(u64::from(digit_at(z, 1 + i) - b'0'))
            })
        };
        // The exponent of the last digit when only the first `kept` are kept.
        let scale = |kept: usize| exp + digits_read as i32 - kept as i32;
        let d = |i: usize| digit_at(&z, 1 + i);
        if d(15) == b'9' && d(14) == b'9' {
            let mut jj = 14;
            while jj > 0 && d(jj - 1) == b'9' {
                jj -= 1;
            }
            let v2 = if jj == 0 { 1 } else { value_of(&z, jj) + 1 };
            if r == fp10_convert2(v2, scale(jj)) {
                round = jj + 1;
            }
        } else if point >= n as i32 || (d(15) == b'0' && d(14) == b'0' && d(13) == b'0') {
            let mut jj = 13;
            while jj > 1 && d(jj - 1) == b'0' {
                jj -= 1;
            }
            if r == fp10_convert2(value_of(&z, jj), scale(jj)) {
                round = jj + 1;
            }
        }
        n = round;
        if digit_at(&z, first + round) >= b'5' {
            let mut j = round - 1;
            loop {
                if let Some(d) = z.get_mut(first + j) {
                    *d += 1;
                    if *d <= b'9' {
                        break;
                    }
                    *d = b'0';
                }
                if j == 0 {
                    // The carry runs off the front: 99… becomes 100….
                    first -= 1;
                    if let Some(d) = z.get_mut(first) {
                        *d = b'1';
                    }
                    n += 1;
                    point += 1;
                    break;
                }
                j -= 1;
            }
        }
    }
    while n > 1 && digit_at(&z, first + n - 1) == b'0' {
        n -= 1;
    }
    z.truncate(first + n);
    z.drain(..first);
    Decoded {
        negative,
        digits: z,
        point,
    }
}

/// The text SQLite gives a REAL (`%!.17g`): `1.5`, `2.0`, `0.1`, `1.0e+300`, `1.0e-07`,
/// `10000000000000000.0`, `0.30000000000000004`.
pub(crate) fn real_text(r: f64) -> String {
    if r.is_nan() {
        return "NaN".to_owned();
    }
    if r.is_infinite() {
        return if r < 0.0 { "-Inf" } else { "Inf" }.to_owned();
    }
    let Decoded {
        negative,
        digits,
        point,
    } = decode(r);
    let mut out = String::with_capacity(32);
    if negative {
        out.push('-');
    }
    let n = digits.len();
    let exp = point - 1;
    // `%g` with precision 17: exponent form when the exponent is below -4 or above 16.
    let exponent_form = !(-4..=16).contains(&exp);
    let mut precision: i32 = if exponent_form { 16 } else { 16 - exp };
    let mut e2 = if exponent_form { 0 } else { point - 1 };
    let mut j = 0;
    let push_digits = |out: &mut String, from: usize, to: usize| {
        let digits = digits.get(from..to).unwrap_or_default();
        out.extend(digits.iter().map(|&d| char::from(d)));
    };
    if e2 < 0 {
        out.push('0');
    } else {
        j = usize::try_from(e2 + 1).unwrap_or(0).min(n);
        push_digits(&mut out, 0, j);
        // `j` is at most 17 here.
        e2 -= j as i32;
        if e2 >= 0 {
            out.extend(std::iter::repeat_n(
                '0',
                usize::try_from(e2 + 1).unwrap_or(0),
            ));
            e2 = -1;
        }
    }
    out.push('.');
    if e2 < -1 && precision > 0 {
        let zeros = (-1 - e2).min(precision);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(zeros).unwrap_or(0),
        ));
        precision -= zeros;
    }
    if precision > 0 {
        let count = n
            .saturating_sub(j)
            .min(usize::try_from(precision).unwrap_or(0));
        push_digits(&mut out, j, j + count);
    }
    // Trailing zeros go, but one digit always follows the point (the `!` flag).
    while out.ends_with('0') {
        out.pop();
    }
    if out.ends_with('.') {
        out.push('0');
    }
    if exponent_form {
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp >= 100 {
            out.push_str(&(exp / 100).to_string());
        }
        out.push_str(&format!("{:02}", exp % 100));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use rusqlite::Connection;
    use rusqlite::types::Value;

    use super::*;

    /// SQLite's text for a REAL.
    fn sqlite_text(x: f64) -> String {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row("SELECT CAST(?1 AS TEXT)", [x], |row| row.get(0))
            .unwrap()
    }

    /// The REAL `json_extract` reads from JSON number text, if it reads a REAL.
    fn sqlite_json_real(text: &str) -> Option<f64> {
        let conn = Connection::open_in_memory().unwrap();
        match conn
            .query_row("SELECT json_extract(?1, '$')", [text], |row| row.get(0))
            .unwrap()
        {
            Value::Real(x) => Some(x),
            _ => None,
        }
    }

    #[test]
    fn reals_read_as_sqlite_writes_them() {
        for (x, text) in [
            (1.5, "1.5"),
            (2.0, "2.0"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (0.1, "0.1"),
            (49.47, "49.47"),
            (0.300_000_000_000_000_04, "0.30000000000000004"),
            (1e300, "1.0e+300"),
            (-1e300, "-1.0e+300"),
            (1e16, "10000000000000000.0"),
            (1e17, "1.0e+17"),
            (1e-4, "0.0001"),
            (1e-5, "1.0e-05"),
            (123_456_789.125, "123456789.125"),
            (9_007_199_254_740_993.0, "9007199254740992.0"),
        ] {
            assert_eq!(real_text(x), text, "{x:?}");
            assert_eq!(sqlite_text(x), text, "SQLite on {x:?}");
        }
    }

    #[test]
    fn large_integers_lose_digits_past_nineteen() {
        for text in [
            "18446744073709551615",
            "9223372036854775808",
            "-1e400",
            "1e-400",
        ] {
            let ours = parse_real(text);
            let theirs = sqlite_json_real(text).unwrap();
            assert_eq!(ours.to_bits(), theirs.to_bits(), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn real_text_is_sqlites_for_any_double(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            prop_assert_eq!(real_text(x), sqlite_text(x));
        }

        #[test]
        fn real_text_is_sqlites_for_short_decimals(mantissa in any::<i32>(), exp in -30i32..30) {
            // Values with few significant digits exercise SQLite's digit dropping.
            let x: f64 = format!("{mantissa}e{exp}").parse().unwrap();
            prop_assert_eq!(real_text(x), sqlite_text(x));
        }

        #[test]
        fn parse_real_is_sqlites(
            text in "-?[1-9][0-9]{0,24}(\\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?"
        ) {
            if let Some(theirs) = sqlite_json_real(&text) {
                prop_assert_eq!(parse_real(&text).to_bits(), theirs.to_bits(), "{}", text);
            }
        }

        #[test]
        fn serde_json_floats_come_back_unchanged(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            let text = serde_json::Number::from_f64(x).unwrap().to_string();
            prop_assert_eq!(parse_real(&text).to_bits(), sqlite_json_real(&text).unwrap().to_bits());
        }
    }
}
