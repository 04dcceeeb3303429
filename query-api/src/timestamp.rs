//! Time parameters (`time`, `start`, `end`) as Prometheus 2.42 reads them, and RFC 3339 output.
//!
//! A time is either a Unix timestamp in seconds as a float (`1435781451.781`; the fraction is
//! rounded to milliseconds) or an RFC 3339 date with optional fractional seconds and a `Z` or
//! `±hh:mm` zone (`2015-07-01T20:10:51.781Z`). Prometheus also accepts the two strings its own
//! client sends for "no bound", the formatted `minTime` and `maxTime`. Times are returned as
//! milliseconds since the epoch, as the engine evaluates them (Go's `timestamp.FromTime`, which
//! truncates nanoseconds).
//!
//! Deviation: Go's `ParseFloat` accepts `NaN`, `Inf` and hexadecimal floats and then converts
//! them with platform-defined results; here non-finite numbers are rejected with the
//! "cannot parse" error, and hexadecimal floats are not numbers.

use skyview_promql::calendar::{civil_from_days, days_from_civil, days_in_month};
use skyview_promql::go_quote;

/// Prometheus's `minTime` (the default `start` of the metadata endpoints), in milliseconds.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus's `maxTime` (the default `end` of the metadata endpoints), in milliseconds.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
/// `minTime` formatted as RFC 3339, which Prometheus accepts as a parameter.
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
/// `maxTime` formatted as RFC 3339, which Prometheus accepts as a parameter.
const MAX_TIME_FORMATTED: &str = "292277025-08-17T07:12:55.999999999Z";

/// Parses a time parameter, in milliseconds since the epoch. The error is Prometheus's text:
/// `cannot parse "x" to a valid timestamp`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(t) = s.parse::<f64>() {
        if t.is_finite() {
            let secs = t.trunc();
            let frac_ms = ((t - secs) * 1000.0).round() as i64;
            return Ok((secs as i64).saturating_mul(1000).saturating_add(frac_ms));
        }
    }
    if let Some(ms) = parse_rfc3339(s) {
        return Ok(ms);
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => Ok(MAX_TIME_MS),
        _ => Err(format!("cannot parse {} to a valid timestamp", go_quote(s))),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as Go's `time.RFC3339Nano` layout does,
/// with its range checks, into milliseconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        for k in 0..9 {
            let d = if start + k < end {
                i64::from(b[start + k] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        i = end;
    }
    let offset_secs = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hh = i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0');
            let mm = i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0');
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = hh * 3600 + mm * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    Some(secs * 1000 + nanos / 1_000_000)
}

/// Formats milliseconds since the epoch as Go's `time.RFC3339Nano` in UTC (JSON `time.Time`):
/// `2023-02-01T10:00:00.123Z`, trailing fractional zeros dropped.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let year_text = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    let mut out = format!(
        "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if millis != 0 {
        let frac = format!("{millis:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_floats_round_to_milliseconds() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1.9996"), Ok(2000));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
    }

    #[test]
    fn rfc3339_with_fractions_and_zones() {
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("2015-07-01T20:10:51Z"), Ok(1_435_781_451_000));
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781999999+02:00"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00-01:30"), Ok(5_400_000));
        assert_eq!(parse_time("1969-12-31T23:59:59.5Z"), Ok(-500));
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
    }

    #[test]
    fn invalid_times_use_prometheus_message() {
        for bad in [
            "x",
            "",
            "2023-02-29T00:00:00Z",
            "2015-07-01 20:10:51Z",
            "2015-07-01T20:10:51",
            "2015-07-01T24:00:00Z",
            "NaN",
            "Inf",
            "5m",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_time("x").unwrap_err(),
            r#"cannot parse "x" to a valid timestamp"#
        );
    }

    #[test]
    fn prometheus_bounds_round_trip() {
        // Go's calendar arithmetic wraps around at `maxTime`, so only `minTime` formats the
        // same; both strings parse to the bounds.
        assert_eq!(format_rfc3339(MIN_TIME_MS), MIN_TIME_FORMATTED);
        assert_eq!(parse_time(MIN_TIME_FORMATTED), Ok(MIN_TIME_MS));
        assert_eq!(parse_time(MAX_TIME_FORMATTED), Ok(MAX_TIME_MS));
    }

    #[test]
    fn formats_like_go_rfc3339_nano() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_435_781_451_780), "2015-07-01T20:10:51.78Z");
        assert_eq!(format_rfc3339(-500), "1969-12-31T23:59:59.5Z");
    }
}
