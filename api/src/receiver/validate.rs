//! Validation of one remote-write series, before anything is proposed to Raft: a request with
//! one bad series is refused whole (400) and nothing of it is stored.
//!
//! The rules are remote write 1.0's, checked the way Prometheus checks them (`labels.IsValid`
//! and the head appender):
//! - label names match `[a-zA-Z_][a-zA-Z0-9_]*`, are unique and sorted by byte order;
//! - `__name__` is present and its value is a metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`;
//! - label values are any UTF-8 (protobuf decoding has already refused invalid UTF-8), and an
//!   empty value is the same as an absent label, so such labels are dropped;
//! - Skyview's own bounds: label count and lengths, and how far ahead of this node's clock a
//!   timestamp may be (see [`ReceiverLimits`]).
//!
//! Every error names the series (as `{name="value",...}`, long values shortened) and the
//! problem, so a sender's log says what to fix.

use std::fmt::Write as _;

use skyview_raft::write_batch::{Sample, SeriesSamples};

use super::limits::ReceiverLimits;
use crate::remote_write::{Label, TimeSeries};

/// The label carrying the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// Longest label value shown in an error message; longer ones are cut with `...`.
const SHOWN_VALUE_LEN: usize = 64;

/// A series the receiver refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("series {series}: {problem}")]
pub struct InvalidSeries {
    /// The series as the sender gave it, `{name="value",...}`.
    pub series: String,
    pub problem: SeriesProblem,
}

/// What is wrong with a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesProblem {
    #[error("no labels")]
    NoLabels,
    #[error("empty label name")]
    EmptyLabelName,
    #[error("invalid label name {name:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName { name: String },
    #[error("duplicate label name {name:?}")]
    DuplicateLabelName { name: String },
    #[error("labels not sorted by name: {name:?} comes after {previous:?}")]
    UnsortedLabels { previous: String, name: String },
    #[error("label name of {len} bytes, above the limit of {limit} bytes")]
    LabelNameTooLong { len: usize, limit: usize },
    #[error("label {name:?} has a value of {len} bytes, above the limit of {limit} bytes")]
    LabelValueTooLong {
        name: String,
        len: usize,
        limit: usize,
    },
    #[error("{count} labels, above the limit of {limit} labels per series")]
    TooManyLabels { count: usize, limit: usize },
    #[error("missing metric name (label __name__)")]
    MissingMetricName,
    #[error("invalid metric name {name:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName { name: String },
    #[error(
        "sample timestamp {timestamp_ms} is {ahead_ms} ms ahead of the receiver's clock, \
         above the limit of {limit_ms} ms"
    )]
    TooFarInFuture {
        timestamp_ms: i64,
        ahead_ms: i64,
        limit_ms: i64,
    },
}

/// Checks one series and converts it into Raft's form, moving its strings (no copies).
///
/// `now_ms` is this node's clock, read once per request. Labels with an empty value are
/// dropped. A series without samples is valid and comes back with none.
pub fn validate_series(
    series: TimeSeries,
    limits: &ReceiverLimits,
    now_ms: i64,
) -> Result<SeriesSamples, InvalidSeries> {
    let fail = |labels: &[Label], problem| InvalidSeries {
        series: display_series(labels),
        problem,
    };
    if let Err(problem) = check_labels(&series.labels, limits) {
        return Err(fail(&series.labels, problem));
    }
    let max_t = now_ms.saturating_add(limits.max_future_ms);
    if let Some(sample) = series.samples.iter().find(|s| s.timestamp > max_t) {
        let problem = SeriesProblem::TooFarInFuture {
            timestamp_ms: sample.timestamp,
            ahead_ms: sample.timestamp.saturating_sub(now_ms),
            limit_ms: limits.max_future_ms,
        };
        return Err(fail(&series.labels, problem));
    }
    Ok(SeriesSamples {
        labels: series
            .labels
            .into_iter()
            .filter(|l| !l.value.is_empty())
            .map(|l| (l.name, l.value))
            .collect(),
        samples: series
            .samples
            .iter()
            .map(|s| Sample {
                timestamp_ms: s.timestamp,
                value: s.value,
            })
            .collect(),
    })
}

/// Every label rule, in one pass over the labels as sent.
fn check_labels(labels: &[Label], limits: &ReceiverLimits) -> Result<(), SeriesProblem> {
    if labels.is_empty() {
        return Err(SeriesProblem::NoLabels);
    }
    let mut kept = 0;
    let mut metric_name = None;
    let mut previous: Option<&str> = None;
    for label in labels {
        let name = label.name.as_str();
        if name.is_empty() {
            return Err(SeriesProblem::EmptyLabelName);
        }
        if name.len() > limits.max_label_name_len {
            return Err(SeriesProblem::LabelNameTooLong {
                len: name.len(),
                limit: limits.max_label_name_len,
            });
        }
        if !is_label_name(name) {
            return Err(SeriesProblem::InvalidLabelName { name: name.into() });
        }
        if let Some(previous) = previous {
            if name == previous {
                return Err(SeriesProblem::DuplicateLabelName { name: name.into() });
            }
            if name < previous {
                return Err(SeriesProblem::UnsortedLabels {
                    previous: previous.into(),
                    name: name.into(),
                });
            }
        }
        previous = Some(name);
        if label.value.len() > limits.max_label_value_len {
            return Err(SeriesProblem::LabelValueTooLong {
                name: name.into(),
                len: label.value.len(),
                limit: limits.max_label_value_len,
            });
        }
        if label.value.is_empty() {
            continue;
        }
        kept += 1;
        if name == METRIC_NAME_LABEL {
            metric_name = Some(label.value.as_str());
        }
    }
    if kept > limits.max_labels_per_series {
        return Err(SeriesProblem::TooManyLabels {
            count: kept,
            limit: limits.max_labels_per_series,
        });
    }
    match metric_name {
        None => Err(SeriesProblem::MissingMetricName),
        Some(name) if !is_metric_name(name) => {
            Err(SeriesProblem::InvalidMetricName { name: name.into() })
        }
        Some(_) => Ok(()),
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus's (pre-UTF-8) label name rule.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, Prometheus's (pre-UTF-8) metric name rule.
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `{name="value",...}` as sent (order kept, empty values shown), values longer than
/// [`SHOWN_VALUE_LEN`] bytes cut at a character boundary, and at most a hundred labels.
pub fn display_series(labels: &[Label]) -> String {
    const SHOWN_LABELS: usize = 100;
    let mut out = String::from("{");
    for (i, label) in labels.iter().take(SHOWN_LABELS).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let name = shorten(&label.name);
        let value = shorten(&label.value);
        // Writing to a String cannot fail.
        let _ = write!(out, "{name}={value:?}");
    }
    if labels.len() > SHOWN_LABELS {
        out.push_str(",...");
    }
    out.push('}');
    out
}

fn shorten(s: &str) -> String {
    if s.len() <= SHOWN_VALUE_LEN {
        return s.to_owned();
    }
    let mut end = SHOWN_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write::Sample as WireSample;

    const NOW: i64 = 1_700_000_000_000;

    fn series(labels: &[(&str, &str)], timestamps: &[i64]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            samples: timestamps
                .iter()
                .map(|&timestamp| WireSample {
                    value: 1.5,
                    timestamp,
                })
                .collect(),
        }
    }

    fn problem(labels: &[(&str, &str)], timestamps: &[i64]) -> SeriesProblem {
        validate_series(series(labels, timestamps), &ReceiverLimits::default(), NOW)
            .expect_err("invalid")
            .problem
    }

    #[test]
    fn accepts_a_valid_series_and_drops_empty_values() {
        let got = validate_series(
            series(
                &[
                    ("Zone", "eu"),
                    ("__name__", "node_cpu:rate5m"),
                    ("empty", ""),
                    ("job", "node"),
                ],
                &[NOW - 1000, NOW + 60_000],
            ),
            &ReceiverLimits::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(
            got.labels,
            [
                ("Zone".to_owned(), "eu".to_owned()),
                ("__name__".to_owned(), "node_cpu:rate5m".to_owned()),
                ("job".to_owned(), "node".to_owned()),
            ]
        );
        assert_eq!(
            got.samples,
            [
                Sample {
                    timestamp_ms: NOW - 1000,
                    value: 1.5
                },
                Sample {
                    timestamp_ms: NOW + 60_000,
                    value: 1.5
                }
            ]
        );
    }

    #[test]
    fn refuses_every_invalid_label_set() {
        assert_eq!(problem(&[], &[NOW]), SeriesProblem::NoLabels);
        assert_eq!(
            problem(&[("", "x"), ("__name__", "up")], &[NOW]),
            SeriesProblem::EmptyLabelName
        );
        assert_eq!(
            problem(&[("1job", "x"), ("__name__", "up")], &[NOW]),
            SeriesProblem::InvalidLabelName {
                name: "1job".into()
            }
        );
        assert_eq!(
            problem(&[("__name__", "up"), ("jo-b", "x")], &[NOW]),
            SeriesProblem::InvalidLabelName {
                name: "jo-b".into()
            }
        );
        assert_eq!(
            problem(&[("__name__", "up"), ("job", "a"), ("job", "b")], &[NOW]),
            SeriesProblem::DuplicateLabelName { name: "job".into() }
        );
        assert_eq!(
            problem(&[("job", "a"), ("__name__", "up")], &[NOW]),
            SeriesProblem::UnsortedLabels {
                previous: "job".into(),
                name: "__name__".into()
            }
        );
        assert_eq!(
            problem(&[("job", "node")], &[NOW]),
            SeriesProblem::MissingMetricName
        );
        assert_eq!(
            problem(&[("__name__", ""), ("job", "node")], &[NOW]),
            SeriesProblem::MissingMetricName
        );
        assert_eq!(
            problem(&[("__name__", "node-cpu")], &[NOW]),
            SeriesProblem::InvalidMetricName {
                name: "node-cpu".into()
            }
        );
        assert_eq!(
            problem(&[("__name__", "up")], &[NOW, NOW + 600_001]),
            SeriesProblem::TooFarInFuture {
                timestamp_ms: NOW + 600_001,
                ahead_ms: 600_001,
                limit_ms: 600_000
            }
        );
    }

    #[test]
    fn enforces_the_size_limits() {
        let limits = ReceiverLimits::default();
        let long_name = "n".repeat(limits.max_label_name_len + 1);
        assert_eq!(
            problem(&[("__name__", "up"), (&long_name, "x")], &[NOW]),
            SeriesProblem::LabelNameTooLong {
                len: 1025,
                limit: 1024
            }
        );
        let long_value = "v".repeat(limits.max_label_value_len + 1);
        assert_eq!(
            problem(&[("__name__", "up"), ("job", &long_value)], &[NOW]),
            SeriesProblem::LabelValueTooLong {
                name: "job".into(),
                len: 2049,
                limit: 2048
            }
        );
        let names: Vec<String> = (0..30).map(|i| format!("l{i:02}")).collect();
        let mut labels: Vec<(&str, &str)> = vec![("__name__", "up")];
        labels.extend(names.iter().map(|n| (n.as_str(), "x")));
        assert_eq!(
            problem(&labels, &[NOW]),
            SeriesProblem::TooManyLabels {
                count: 31,
                limit: 30
            }
        );
        // Empty values do not count: they are absent labels.
        labels[30].1 = "";
        assert!(validate_series(series(&labels, &[NOW]), &limits, NOW).is_ok());
    }

    #[test]
    fn messages_name_the_series_and_the_problem() {
        let err = validate_series(
            series(&[("__name__", "up"), ("job", "a"), ("job", "b")], &[NOW]),
            &ReceiverLimits::default(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"series {__name__="up",job="a",job="b"}: duplicate label name "job""#
        );
        let long = format!("{}é{}", "x".repeat(63), "y".repeat(100));
        let shown = display_series(&series(&[("__name__", &long)], &[]).labels);
        assert_eq!(shown, format!("{{__name__=\"{}...\"}}", "x".repeat(63)));
    }
}
