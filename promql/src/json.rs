//! The `data` object of Prometheus's query API, byte for byte as Prometheus 2.42 writes it.
//!
//! Written by hand rather than through serde because the shape has two Prometheus quirks a
//! generic serializer does not reproduce: timestamps are bare JSON numbers in seconds printed
//! like Go's `FormatFloat(t/1000, 'f', -1, 64)` (`1435781451.781`, `1`), and values are strings
//! (`"NaN"`, `"+Inf"`). Strings are escaped as Go's `encoding/json` does, including `<`, `>` and
//! `&` as `\u003c`, `\u003e` and `\u0026`.

use std::fmt::Write as _;

use crate::labels::Labels;
use crate::value::{write_float, QueryValue};

/// Encodes `value` as the API's `data` object:
/// `{"resultType":"vector","result":[{"metric":{...},"value":[<seconds>,"<value>"]}]}`.
pub fn encode_data(value: &QueryValue) -> String {
    let mut out = String::new();
    write_data(value, &mut out);
    out
}

/// Appends the `data` object for `value` to `out`.
pub fn write_data(value: &QueryValue, out: &mut String) {
    out.push_str("{\"resultType\":\"");
    out.push_str(value.result_type());
    out.push_str("\",\"result\":");
    match value {
        QueryValue::Vector { t, samples } => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&s.labels, out);
                out.push_str(",\"value\":");
                write_value_point(*t, s.v, out);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&s.labels, out);
                out.push_str(",\"values\":[");
                for (j, p) in s.samples.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_value_point(p.t, p.v, out);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        QueryValue::Scalar { t, v } => write_value_point(*t, *v, out),
        QueryValue::String { t, v } => {
            out.push('[');
            write_timestamp(*t, out);
            out.push(',');
            write_string(v, out);
            out.push(']');
        }
    }
    out.push('}');
}

/// Writes a label set as a JSON object with keys in sorted order.
pub fn write_labels(labels: &Labels, out: &mut String) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&l.name, out);
        out.push(':');
        write_string(&l.value, out);
    }
    out.push('}');
}

/// Writes `[<seconds>,"<value>"]`. Formatted values never need escaping.
fn write_value_point(t_ms: i64, v: f64, out: &mut String) {
    out.push('[');
    write_timestamp(t_ms, out);
    out.push_str(",\"");
    write_float(v, out);
    out.push_str("\"]");
}

/// Timestamps below this many milliseconds (about 31,700 years) print exactly as integer
/// seconds and milliseconds: the `f64` of `t / 1000` is then precise to far better than a
/// millisecond, so its shortest round-trip decimal is the millisecond decimal itself.
const EXACT_TIMESTAMP_MS: u64 = 1_000_000_000_000_000;

/// Appends a millisecond timestamp as Prometheus prints it: seconds, shortest decimal
/// (`1435781451.781`, `1`), as Go's `FormatFloat(t/1000, 'f', -1, 64)`.
fn write_timestamp(t_ms: i64, out: &mut String) {
    let abs = t_ms.unsigned_abs();
    if abs >= EXACT_TIMESTAMP_MS {
        write_float(t_ms as f64 / 1000.0, out);
        return;
    }
    if t_ms < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let mut ms = abs % 1000;
    if ms == 0 {
        return;
    }
    out.push('.');
    let mut digits = 3;
    while ms % 10 == 0 {
        ms /= 10;
        digits -= 1;
    }
    let _ = write!(out, "{ms:0digits$}");
}

/// Writes a JSON string with Go `encoding/json` escaping.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Sample, Series, VectorSample};

    #[test]
    fn vector_shape() {
        let v = QueryValue::Vector {
            t: 1_435_781_451_781,
            samples: vec![VectorSample {
                labels: Labels::from_pairs([("__name__", "up"), ("job", "a<b")]),
                t: 0,
                v: f64::NAN,
            }],
        };
        assert_eq!(
            encode_data(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\u003cb"},"value":[1435781451.781,"NaN"]}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&encode_data(&v)).unwrap();
        assert_eq!(parsed["result"][0]["value"][1], "NaN");
    }

    #[test]
    fn timestamps_print_as_go_formats_seconds() {
        let mut cases = vec![
            0,
            1,
            -1,
            10,
            100,
            999,
            1000,
            -1500,
            1_435_781_451_781,
            1_435_781_451_780,
            1_435_781_451_700,
            (EXACT_TIMESTAMP_MS - 1) as i64,
            EXACT_TIMESTAMP_MS as i64,
            i64::MAX,
            i64::MIN,
        ];
        // A deterministic spread over every magnitude.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = (x >> (x % 48)) as i64;
            cases.push(if x & 1 == 0 { t } else { t.wrapping_neg() });
        }
        for t in cases {
            let mut got = String::new();
            write_timestamp(t, &mut got);
            assert_eq!(got, crate::value::format_float(t as f64 / 1000.0), "t={t}");
        }
    }

    #[test]
    fn matrix_scalar_string_shapes() {
        let m = QueryValue::Matrix(vec![Series {
            labels: Labels::empty(),
            samples: vec![
                Sample { t: 1000, v: 1.5 },
                Sample {
                    t: 2000,
                    v: f64::NEG_INFINITY,
                },
            ],
        }]);
        assert_eq!(
            encode_data(&m),
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1.5"],[2,"-Inf"]]}]}"#
        );
        let s = QueryValue::Scalar {
            t: 1500,
            v: f64::INFINITY,
        };
        assert_eq!(
            encode_data(&s),
            r#"{"resultType":"scalar","result":[1.5,"+Inf"]}"#
        );
        let st = QueryValue::String {
            t: 0,
            v: "a\"b\n".into(),
        };
        assert_eq!(
            encode_data(&st),
            r#"{"resultType":"string","result":[0,"a\"b\n"]}"#
        );
    }
}
