//! Skyview's PromQL evaluator, with the semantics of Prometheus 2.42.
//!
//! This crate owns query evaluation: parsing (with `promql-parser`), planning which data each
//! selector needs, evaluating every operator, function and aggregation exactly as Prometheus
//! 2.42 does, the `errorType` of each failure, and the JSON shape of results. It reads data
//! only through the [`Queryable`] trait and knows nothing of storage engines, Raft or HTTP;
//! `skyview-storage` implements `Queryable` and `skyview-api` serves the results.
//!
//! ```
//! use skyview_promql::{Engine, EngineOptions, MemoryQueryable, json};
//!
//! let mut data = MemoryQueryable::new();
//! data.load("load 1m\n  requests_total{job=\"api\"} 0+60x10").unwrap();
//! let engine = Engine::new(EngineOptions::default());
//! let value = futures::executor::block_on(
//!     engine.instant_query(&data, "rate(requests_total[5m])", 600_000),
//! ).unwrap();
//! assert_eq!(
//!     json::encode_data(&value),
//!     r#"{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[600,"1"]}]}"#,
//! );
//! ```
//!
//! # How it evaluates
//!
//! [`Engine`] parses the query, rejects syntax newer than Prometheus 2.42, works out the time
//! range every selector needs across all steps, selects each selector's data once through
//! [`Queryable::select`], and then evaluates the expression tree once per step over that data
//! (binary search per series and step; subquery inner results are cached across overlapping
//! steps). Evaluation does no IO.
//!
//! Its tests include a runner for Prometheus's `promql/testdata/*.test` format: all 547 `eval`
//! commands of Prometheus v2.42.0's testdata pass in instant mode and in range mode
//! (`tests/t00_prometheus_testdata.rs` runs them when pointed at a checkout).
//!
//! # Known deviations from Prometheus 2.42
//!
//! - Regular expressions (matchers and `label_replace`) are fully anchored and compiled with the
//!   `regex` crate, whose syntax is RE2's as Go's `regexp` is. Differences: `\d`, `\w`, `\s`
//!   and `\b` are Unicode-aware in Rust but ASCII-only in Go; Rust rejects a few constructs Go
//!   accepts (`\C`); a `{` that does not start a repetition is read as a literal as in Go
//!   (escaped by `promql-parser` for matchers and by this crate for `label_replace`).
//! - Parse errors carry `promql-parser`'s message, not Prometheus's `1:5: parse error: ...`
//!   text; the `errorType` (`bad_data`) is the same.
//! - `max_samples` counts the samples each step selects or produces plus, for range queries, the
//!   result points kept so far. That approximates Prometheus's `currentSamples` peak; a query
//!   right at the limit may pass in one and fail in the other.
//! - The timeout is checked between selects and at every selector evaluation and subquery step;
//!   a single slow [`Queryable::select`] call is not interrupted (wrap the query future in the
//!   runtime's timeout for that).
//! - Prometheus evaluates step-invariant expressions (those pinned with `@`) once, at the first
//!   step. Every function gives the same values evaluated per step, except
//!   `predict_linear(v[d] @ t, s)` in a range query, where Prometheus anchors the prediction at
//!   the range's start time and this engine at each step's time.
//! - Date functions given NaN or out-of-range timestamps: Go's `int64()` conversion is
//!   platform-defined, this engine saturates (NaN reads as 1970-01-01).
//! - Ties: `sort`/`sort_desc` keep the input order of equal values and `histogram_quantile`
//!   returns groups in first-seen order, where Go's unstable sort and map order make
//!   Prometheus's order arbitrary. `topk`/`bottomk` keep Go's heap, so they pick the same series.
//! - Native histograms are not stored; `histogram_count`, `histogram_sum` and
//!   `histogram_fraction` return nothing, as Prometheus does for float series.
//! - `promql-parser` knows `holt_winters` only as `double_exponential_smoothing` (3.x); the
//!   first [`Engine::new`] registers `holt_winters` with the parser's global function table,
//!   and the 3.x name is rejected like every other function 2.42 lacks.

pub mod calendar;
mod engine;
mod error;
mod eval;
pub mod json;
mod labels;
mod memory;
mod queryable;
mod selection;
mod time;
mod validate;
mod value;

pub use engine::{Engine, EngineOptions};
pub use error::QueryError;
pub use labels::{go_quote, Label, Labels, METRIC_NAME};
pub use memory::{LoadError, MemoryQueryable};
pub use queryable::{Queryable, SelectError};
pub use value::{
    format_float, is_stale_nan, stale_nan, QueryValue, Sample, Series, VectorSample, STALE_NAN_BITS,
};
