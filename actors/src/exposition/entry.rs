//! What the parser yields: one entry per meaningful line.

use std::borrow::Cow;

use super::labels::LabelIter;

/// A parsed line.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// A sample.
    Series(Series<'a>),
    /// `# HELP name text`, with the text unescaped.
    Help { metric: &'a str, text: Cow<'a, str> },
    /// `# TYPE name type`.
    Type { metric: &'a str, kind: MetricType },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit { metric: &'a str, unit: &'a str },
    /// Any other `#` line (text format only; OpenMetrics has no free comments).
    Comment(&'a [u8]),
    /// OpenMetrics `# EOF`; nothing follows it.
    Eof,
}

/// One sample line. Borrowed from the body; nothing is copied or unescaped until asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Series<'a> {
    /// The metric name and label block exactly as written (`name{a="b"}`): the scrape-cache
    /// key. Identical bytes always mean identical labels.
    pub key: &'a [u8],
    /// The metric name.
    pub name: &'a str,
    /// The value; NaN is Prometheus's `NormalNaN`.
    pub value: f64,
    /// Milliseconds since the epoch, when the line carries a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The text between the braces (empty when there are none).
    pub(super) label_block: &'a [u8],
}

impl<'a> Series<'a> {
    /// The exposed labels (not including the metric name), values unescaped.
    pub fn labels(&self) -> LabelIter<'a> {
        LabelIter::new(self.label_block)
    }
}

/// A metric family's type, as declared by `# TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    /// The types the text format 0.0.4 accepts (`untyped` is its unknown).
    pub(super) fn from_text(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"counter" => Self::Counter,
            b"gauge" => Self::Gauge,
            b"histogram" => Self::Histogram,
            b"summary" => Self::Summary,
            b"untyped" => Self::Unknown,
            _ => return None,
        })
    }

    /// The types OpenMetrics 1.0 accepts.
    pub(super) fn from_openmetrics(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"counter" => Self::Counter,
            b"gauge" => Self::Gauge,
            b"histogram" => Self::Histogram,
            b"gaugehistogram" => Self::GaugeHistogram,
            b"summary" => Self::Summary,
            b"info" => Self::Info,
            b"stateset" => Self::StateSet,
            b"unknown" => Self::Unknown,
            _ => return None,
        })
    }
}
