//! The Prometheus exposition formats: text 0.0.4 and OpenMetrics 1.0.0.
//!
//! The parser is a zero-copy, line-oriented iterator over a scraped body. It exists so the
//! scrape path can work like Prometheus's scrape cache: each series entry exposes the raw bytes
//! of its metric name and label block ([`Series::key`]) so a caller that has seen that exact
//! text before only needs the already-parsed value and timestamp, and labels are only
//! unescaped (through [`Series::labels`]) on a cache miss.
//!
//! What is accepted and rejected follows Prometheus 2.42's `textparse` (`promparse.go`,
//! `openmetricsparse.go`), including its quirks, so a target that Prometheus scrapes happily
//! also scrapes here and a body Prometheus rejects fails here too:
//! - text format: blank lines, any `#` comment, spaces/tabs between tokens, a trailing comma
//!   and missing commas between labels, raw newlines inside label values, integer millisecond
//!   timestamps, `untyped` as the unknown type, and a missing final newline are accepted;
//! - OpenMetrics: exactly one space between tokens, no blank lines or free comments, `# EOF`
//!   required and nothing after it, float-second timestamps, `# UNIT` must be a suffix of the
//!   metric name, and exemplars (`# {...} value [ts]`) are validated and skipped;
//! - both: label values unescape `\\`, `\"` and `\n` (other escapes are kept verbatim), must be
//!   valid UTF-8, and values use Go's float syntax (`NaN`, `+Inf`, `-Inf`; no hex, no `_`, an
//!   out-of-range number is an error). NaN is normalised to Prometheus's `NormalNaN` so a
//!   scraped NaN can never be mistaken for a staleness marker.
//!
//! Duplicate label names are not a syntax error in Prometheus's parser either; the scrape
//! rejects them when it builds the series (see `scrape::series_labels`). OpenMetrics
//! `_created` series are ordinary series in 2.42, and so they are here.

mod cursor;
mod entry;
mod error;
mod escape;
mod float;
mod format;
mod labels;
mod openmetrics;
mod parser;
mod text;

pub use cursor::is_valid_metric_name;
pub use entry::{Entry, MetricType, Series};
pub use error::{ParseError, ParseErrorKind};
pub use format::Format;
pub use labels::LabelIter;
pub use parser::Parser;
