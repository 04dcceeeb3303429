//! Duration parameters (`step`, `timeout`) as Prometheus 2.42 reads them: a float number of
//! seconds (`15`, `0.5`, Grafana's form) or a Prometheus duration (`5m`, `1h30m`, `1d`,
//! `250ms`: units `y w d h m s ms`, each at most once, in that order, integers only).
//! Durations are returned in nanoseconds, Go's `time.Duration`.

use skyview_promql::go_quote;

/// Parses a duration parameter into nanoseconds. Errors are Prometheus's texts:
/// `cannot parse "x" to a valid duration` (and `... It overflows int64` for huge floats).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(d) = s.parse::<f64>() {
        let nanos = d * 1e9;
        if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(s)
            ));
        }
        // Go converts NaN to the smallest int64 on amd64, which the callers reject as
        // non-positive.
        return Ok(if nanos.is_nan() {
            i64::MIN
        } else {
            nanos as i64
        });
    }
    parse_prometheus_duration(s)
        .ok_or_else(|| format!("cannot parse {} to a valid duration", go_quote(s)))
}

/// `model.ParseDuration`: `0`, or `[Ny][Nw][Nd][Nh][Nm][Ns][Nms]` with at least one part.
fn parse_prometheus_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    const UNITS: [(&str, i128); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut next_unit = 0;
    let mut total_ms: i128 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let n: i128 = s[start..i].parse().ok()?;
        let unit_start = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let pos = UNITS[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
        next_unit = pos + 1;
        total_ms = total_ms.checked_add(n.checked_mul(UNITS[pos].1)?)?;
    }
    let nanos = total_ms.checked_mul(1_000_000)?;
    i64::try_from(nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn floats_are_seconds() {
        assert_eq!(parse_duration("15"), Ok(15 * SEC));
        assert_eq!(parse_duration("0.5"), Ok(SEC / 2));
        assert_eq!(parse_duration("-1"), Ok(-SEC));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("1e20").unwrap_err(),
            r#"cannot parse "1e20" to a valid duration. It overflows int64"#
        );
    }

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_duration("5m"), Ok(300 * SEC));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * SEC));
        assert_eq!(parse_duration("15s"), Ok(15 * SEC));
        assert_eq!(parse_duration("250ms"), Ok(SEC / 4));
        assert_eq!(parse_duration("1d"), Ok(86_400 * SEC));
        assert_eq!(parse_duration("1w2d"), Ok(9 * 86_400 * SEC));
        assert_eq!(parse_duration("1y"), Ok(365 * 86_400 * SEC));
        assert_eq!(parse_duration("1m1ms"), Ok(60 * SEC + SEC / 1000));
    }

    #[test]
    fn invalid_durations() {
        for bad in [
            "", "x", "1.5m", "5s1m", "5m5m", "m", "5M", "1000000y", "-5m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_duration("x").unwrap_err(),
            r#"cannot parse "x" to a valid duration"#
        );
    }
}
