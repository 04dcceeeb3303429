//! The values PromQL computes: Prometheus's four result types and their parts.

use std::fmt::Write as _;

use crate::labels::Labels;

/// The bit pattern of Prometheus's staleness marker (`value.StaleNaN`). It is a NaN, so it must
/// be recognised by its bits, never with `==`.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float, for writers and tests.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the staleness marker (and not some other NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: a timestamp in milliseconds and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; may be the staleness marker in selected data, never in results.
    pub v: f64,
}

/// A series with its samples in time order: what a [`crate::Queryable`] returns and what a
/// matrix result holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Samples sorted by timestamp, without duplicate timestamps.
    pub samples: Vec<Sample>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// The element's labels.
    pub labels: Labels,
    /// The timestamp: the evaluation time, except directly after a vector selector, where it is
    /// the sample's own time (which `timestamp()` reports).
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A result of a query, one variant per Prometheus `resultType`.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `vector`: one sample per series at the evaluation time, in Prometheus's order.
    Vector {
        /// The evaluation time in milliseconds.
        t: i64,
        /// The elements.
        samples: Vec<VectorSample>,
    },
    /// `matrix`: series sorted by labels.
    Matrix(Vec<Series>),
    /// `scalar`: one value at the evaluation time.
    Scalar {
        /// The evaluation time in milliseconds.
        t: i64,
        /// The value.
        v: f64,
    },
    /// `string`: a string literal at the evaluation time.
    String {
        /// The evaluation time in milliseconds.
        t: i64,
        /// The string.
        v: String,
    },
}

impl QueryValue {
    /// Prometheus's `resultType` name.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Vector { .. } => "vector",
            QueryValue::Matrix(_) => "matrix",
            QueryValue::Scalar { .. } => "scalar",
            QueryValue::String { .. } => "string",
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that
/// round-trips, never in exponent form, with `NaN`, `+Inf` and `-Inf` spelled as Go does.
pub fn format_float(v: f64) -> String {
    let mut out = String::new();
    write_float(v, &mut out);
    out
}

/// Appends `v` formatted as [`format_float`] does, without allocating a string per value (a
/// range query's JSON holds one per point). Rust's `Display` for `f64` already prints the
/// shortest round-trip digits without an exponent.
pub fn write_float(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_recognised_by_bits() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert!(stale_nan().is_nan());
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(-0.5), "-0.5");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(1e-7), "0.0000001");
        assert_eq!(format_float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(1_435_781_451_781.0 / 1000.0), "1435781451.781");
    }
}
