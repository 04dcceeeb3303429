//! The Prometheus HTTP API's matrix result, written byte for byte as Prometheus writes it:
//!
//! ```text
//! {"status":"success","data":[{"metric":{"__name__":"up"},"values":[[1700000000.5,"1"]]}]}
//! ```
//!
//! - a timestamp is Unix seconds with the milliseconds as a fixed three-digit fraction, left
//!   out when zero (`1435781451.781`, `1435781451`, `1.050`), as Prometheus's
//!   `jsonutil.MarshalTimestamp` does;
//! - a value is a string, the shortest decimal that reads back to the same float without an
//!   exponent (Go's `FormatFloat(v, 'f', -1, 64)`), and `NaN`, `+Inf`, `-Inf`.
//!
//! Written by hand rather than through serde because the timestamp is a JSON number serde
//! cannot produce exactly, and because a read can return millions of points.

use std::fmt::Write as _;

use skyview_raft::write_batch::SeriesSamples;

/// The whole success response for a matrix: each series' labels (sorted by name) and its
/// samples, oldest first.
pub fn matrix_response(series: &[SeriesSamples]) -> String {
    let mut out = String::from(r#"{"status":"success","data":["#);
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":{"#);
        for (j, (name, value)) in s.labels.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_json_string(&mut out, name);
            out.push(':');
            push_json_string(&mut out, value);
        }
        out.push_str(r#"},"values":["#);
        for (j, sample) in s.samples.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            push_timestamp(&mut out, sample.timestamp_ms);
            out.push_str(",\"");
            push_value(&mut out, sample.value);
            out.push_str("\"]");
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    out
}

/// Unix seconds from milliseconds, as Prometheus's `MarshalTimestamp` writes them.
pub fn push_timestamp(out: &mut String, t_ms: i64) {
    let (sign, abs) = if t_ms < 0 {
        ("-", t_ms.unsigned_abs())
    } else {
        ("", t_ms.unsigned_abs())
    };
    let (seconds, millis) = (abs / 1000, abs % 1000);
    // Writing to a String cannot fail.
    let _ = if millis == 0 {
        write!(out, "{sign}{seconds}")
    } else {
        write!(out, "{sign}{seconds}.{millis:03}")
    };
}

/// A sample value as Prometheus writes it in its API (`FormatFloat(v, 'f', -1, 64)`).
pub fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        // Rust's Display is Go's 'f' with precision -1: the shortest digits that round-trip,
        // never an exponent.
        let _ = write!(out, "{v}");
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a str to JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_raft::write_batch::Sample;

    fn value(v: f64) -> String {
        let mut s = String::new();
        push_value(&mut s, v);
        s
    }

    fn timestamp(t: i64) -> String {
        let mut s = String::new();
        push_timestamp(&mut s, t);
        s
    }

    #[test]
    fn values_are_formatted_as_prometheus_does() {
        assert_eq!(value(f64::NAN), "NaN");
        // StaleNaN is a NaN too.
        assert_eq!(value(f64::from_bits(0x7ff0_0000_0000_0002)), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(1.0), "1");
        assert_eq!(value(-0.0), "-0");
        assert_eq!(value(0.1), "0.1");
        assert_eq!(value(1e21), "1000000000000000000000");
        assert_eq!(value(1.5e-7), "0.00000015");
        assert_eq!(value(123456.789), "123456.789");
    }

    #[test]
    fn timestamps_are_seconds_with_millisecond_fraction() {
        assert_eq!(timestamp(1_435_781_451_781), "1435781451.781");
        assert_eq!(timestamp(1_435_781_451_000), "1435781451");
        assert_eq!(timestamp(1_050), "1.050");
        assert_eq!(timestamp(5), "0.005");
        assert_eq!(timestamp(0), "0");
        assert_eq!(timestamp(-1_500), "-1.500");
        assert_eq!(timestamp(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn renders_a_matrix_that_parses_as_json() {
        let labels = vec![
            ("__name__".to_owned(), "up".to_owned()),
            ("job".to_owned(), "a\"b".to_owned()),
        ];
        let sample = |timestamp_ms, value| Sample {
            timestamp_ms,
            value,
        };
        let body = matrix_response(&[
            SeriesSamples {
                labels: labels.clone(),
                samples: vec![sample(1_000, 1.0), sample(2_500, f64::NAN)],
            },
            SeriesSamples {
                labels: labels[..1].to_vec(),
                samples: vec![],
            },
        ]);
        assert_eq!(
            body,
            r#"{"status":"success","data":[{"metric":{"__name__":"up","job":"a\"b"},"values":[[1,"1"],[2.500,"NaN"]]},{"metric":{"__name__":"up"},"values":[]}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"][0]["values"][1][0], 2.5);
        assert_eq!(matrix_response(&[]), r#"{"status":"success","data":[]}"#);
    }
}
