//! Sample values and OpenMetrics timestamps use Go's `strconv.ParseFloat` syntax (as
//! Prometheus's `parseFloat` restricts it); Rust's parser is close but not equal, so the
//! differences are handled here.

/// Prometheus's `value.NormalNaN`: the NaN every parsed NaN becomes, distinct from the
/// staleness marker's bit pattern.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Parses a value the way Prometheus 2.42 does:
/// - `Inf`/`Infinity` with an optional sign and `NaN` without one, case-insensitively;
/// - decimal numbers with optional fraction and exponent;
/// - no hex floats, no `_` separators (Prometheus rejects `p`, `P` and `_`), no whitespace;
/// - a number too large for an f64 is an error (Go's `ErrRange`), not infinity.
pub fn parse_value(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    if s.is_empty() || s.bytes().any(|b| matches!(b, b'p' | b'P' | b'_')) {
        return None;
    }
    let (negative, unsigned) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if unsigned.eq_ignore_ascii_case("nan") {
        // Go accepts no sign in front of NaN.
        return (unsigned.len() == s.len()).then(|| f64::from_bits(NORMAL_NAN_BITS));
    }
    if !unsigned
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// An OpenMetrics timestamp: float seconds, finite, converted to milliseconds by truncation
/// (Go's `int64(ts * 1000)`).
pub fn parse_om_timestamp(text: &[u8]) -> Option<i64> {
    let secs = parse_value(text)?;
    secs.is_finite().then_some((secs * 1000.0) as i64)
}

/// A text-format timestamp: decimal digits only (no sign), milliseconds, must fit an i64.
pub fn parse_ms_timestamp(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Option<f64> {
        parse_value(s.as_bytes())
    }

    #[test]
    fn accepts_go_float_syntax() {
        assert_eq!(v("1"), Some(1.0));
        assert_eq!(v("-1.5e3"), Some(-1500.0));
        assert_eq!(v("+.5"), Some(0.5));
        assert_eq!(v("1."), Some(1.0));
        assert_eq!(v("1E-2"), Some(0.01));
        assert_eq!(v("+Inf"), Some(f64::INFINITY));
        assert_eq!(v("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(v("Infinity"), Some(f64::INFINITY));
        assert_eq!(v("1e-400"), Some(0.0), "underflow is not an error in Go");
        assert_eq!(v("NaN").map(f64::to_bits), Some(NORMAL_NAN_BITS));
        assert_eq!(v("nan").map(f64::to_bits), Some(NORMAL_NAN_BITS));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "", "-NaN", "+nan", "1e400", "0x10", "0x1p3", "1_000", "1,5", " 1", "e5", "inff", "1f",
            "-",
        ] {
            assert_eq!(v(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_ms_timestamp(b"1700000000123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_ms_timestamp(b"-5"), None);
        assert_eq!(parse_ms_timestamp(b"99999999999999999999"), None);
        assert_eq!(
            parse_om_timestamp(b"1700000000.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_om_timestamp(b"-1.5"), Some(-1500));
        assert_eq!(parse_om_timestamp(b"NaN"), None);
        assert_eq!(parse_om_timestamp(b"+Inf"), None);
    }
}
