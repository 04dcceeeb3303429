//! Why a scrape failed. Each variant maps to the `reason` label of
//! `skyview_agent_scrape_failures_total` and is logged with the target.

use std::time::Duration;

use crate::exposition::ParseError;

/// A failed scrape: the target's `up` is 0 and its series of the last successful scrape are
/// marked stale.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("server returned HTTP status {status}")]
    HttpStatus { status: u16 },
    #[error("scrape timed out after {timeout:?}")]
    Timeout { timeout: Duration },
    #[error("HTTP request failed: {message}")]
    Request { message: String },
    #[error("cannot build the HTTP client of job {job}: {message}")]
    Client { job: String, message: String },
    #[error("body size limit of {limit} bytes exceeded")]
    BodyTooLarge { limit: u64 },
    #[error("malformed exposition: {0}")]
    Parse(#[from] ParseError),
    #[error("label name {name:?} is not unique in series {series}")]
    DuplicateLabel { name: String, series: String },
    #[error("series {series} has no metric name after relabelling")]
    MissingMetricName { series: String },
    #[error("invalid metric name or label names after relabelling: {series}")]
    InvalidSeries { series: String },
    #[error("sample_limit exceeded: {samples} samples after relabelling, limit {limit}")]
    SampleLimit { samples: u64, limit: u64 },
    #[error("label_limit exceeded (metric: {metric}, number of labels: {labels}, limit: {limit})")]
    LabelLimit {
        metric: String,
        labels: usize,
        limit: u64,
    },
    #[error(
        "label_name_length_limit exceeded (metric: {metric}, label name: {name}, length: {length}, limit: {limit})"
    )]
    LabelNameLength {
        metric: String,
        name: String,
        length: usize,
        limit: u64,
    },
    #[error(
        "label_value_length_limit exceeded (metric: {metric}, label name: {name}, length: {length}, limit: {limit})"
    )]
    LabelValueLength {
        metric: String,
        name: String,
        length: usize,
        limit: u64,
    },
}

impl ScrapeError {
    /// The `reason` label of the failure counter.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::HttpStatus { .. } | Self::Request { .. } | Self::Client { .. } => "http",
            Self::Timeout { .. } => "timeout",
            Self::BodyTooLarge { .. } => "body_size",
            Self::Parse(_) | Self::DuplicateLabel { .. } => "parse",
            Self::MissingMetricName { .. } | Self::InvalidSeries { .. } => "invalid_series",
            Self::SampleLimit { .. } => "sample_limit",
            Self::LabelLimit { .. }
            | Self::LabelNameLength { .. }
            | Self::LabelValueLength { .. } => "label_limit",
        }
    }
}
