//! Prometheus's text exposition format 0.0.4, as `expfmt` writes it for untyped samples:
//!
//! ```text
//! # TYPE http_requests_total untyped
//! http_requests_total{job="api",instance=""} 1027 1395066363000
//! ```
//!
//! One `# TYPE` line per run of samples with the same metric name; label values escape `\`,
//! `"` and newlines; values are Go's `strconv.FormatFloat(v, 'g', -1, 64)` (`1e+06`,
//! `0.0001`, `1e-05`) with `+Inf`, `-Inf` and `NaN`; the timestamp is in milliseconds.

/// The `Content-Type` of format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes `# TYPE <name> untyped`.
pub fn write_type_line(name: &str, out: &mut String) {
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push_str(" untyped\n");
}

/// Writes one sample line: `name{l1="v1",...} value timestamp`. Labels are written in the
/// order given.
pub fn write_sample<'a>(
    name: &str,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    value: f64,
    timestamp_ms: i64,
    out: &mut String,
) {
    out.push_str(name);
    let mut first = true;
    for (k, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_go_g(value));
    out.push(' ');
    out.push_str(&timestamp_ms.to_string());
    out.push('\n');
}

/// `expfmt`'s `writeFloat`: Go's `strconv.FormatFloat(v, 'g', -1, 64)`, the shortest
/// round-trip digits in exponent form when the decimal exponent is below -4 or at least 6 (Go's
/// shortest `%g` precision), and `0` for both zeros.
pub fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.2345e6`.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    } else {
        format!("{sign}{}", skyview_promql::format_float(v.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_go_g() {
        assert_eq!(format_go_g(1.0), "1");
        assert_eq!(format_go_g(1027.0), "1027");
        assert_eq!(format_go_g(123_456.0), "123456");
        assert_eq!(format_go_g(1e6), "1e+06");
        assert_eq!(format_go_g(1_234_567.0), "1.234567e+06");
        assert_eq!(format_go_g(-0.0), "0");
        assert_eq!(format_go_g(0.0001), "0.0001");
        assert_eq!(format_go_g(0.00001), "1e-05");
        assert_eq!(format_go_g(-1.5e-7), "-1.5e-07");
        assert_eq!(format_go_g(1e21), "1e+21");
        assert_eq!(format_go_g(123_456_789.0), "1.23456789e+08");
        assert_eq!(format_go_g(f64::INFINITY), "+Inf");
        assert_eq!(format_go_g(f64::NAN), "NaN");
    }

    #[test]
    fn sample_lines() {
        let mut out = String::new();
        write_type_line("up", &mut out);
        write_sample(
            "up",
            [("job", "a\"b\\\n"), ("instance", "")],
            1.0,
            1000,
            &mut out,
        );
        write_sample("up", [], 0.5, 2000, &mut out);
        assert_eq!(
            out,
            "# TYPE up untyped\nup{job=\"a\\\"b\\\\\\n\",instance=\"\"} 1 1000\nup 0.5 2000\n"
        );
    }
}
