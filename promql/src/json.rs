//! The `data` object of Prometheus's query API, byte for byte as Prometheus 2.42 writes it.
//!
//! Written by hand rather than through serde because the shape has two Prometheus quirks a
//! generic serializer does not reproduce: timestamps are bare JSON numbers in seconds printed
//! like Go's `FormatFloat(t/1000, 'f', -1, 64)` (`1435781451.781`, `1`), and values are strings
//! (`"NaN"`, `"+Inf"`). Strings are escaped as Go's `encoding/json` does, including `<`, `>` and
//! `&` as `\u003c`, `\u003e` and `\u0026`.

use std::fmt::Write as _;

use crate::labels::Labels;
use crate::value::{format_float, QueryValue};

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
                write_point(*t, &format_float(s.v), out);
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
                    write_point(p.t, &format_float(p.v), out);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        QueryValue::Scalar { t, v } => write_point(*t, &format_float(*v), out),
        QueryValue::String { t, v } => write_point(*t, v, out),
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

/// Writes `[<seconds>,"<text>"]`.
fn write_point(t_ms: i64, text: &str, out: &mut String) {
    out.push('[');
    out.push_str(&format_timestamp(t_ms));
    out.push(',');
    write_string(text, out);
    out.push(']');
}

/// A millisecond timestamp as Prometheus prints it: seconds, shortest decimal.
pub fn format_timestamp(t_ms: i64) -> String {
    format_float(t_ms as f64 / 1000.0)
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
