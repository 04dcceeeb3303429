//! Query errors, and the `errorType` each one maps to in Prometheus's HTTP API.

use crate::queryable::SelectError;

/// Why a query failed. The message texts are Prometheus's where Prometheus has one, because the
/// compatibility suite compares them.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query does not parse, or a parameter is invalid (`bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed: a many-to-many match, a duplicate label set, an invalid function
    /// argument (`execution`).
    #[error("{0}")]
    Execution(String),
    /// More samples than `max_samples` would be held at once (`execution`).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples {
        /// The configured limit.
        limit: usize,
    },
    /// The query ran longer than its timeout (`timeout`).
    #[error("query timed out in {stage}")]
    Timeout {
        /// Where the deadline passed, in Prometheus's words ("expression evaluation").
        stage: &'static str,
    },
    /// The storage failed to select series (`internal`, as Prometheus's `ErrStorage`).
    #[error(transparent)]
    Storage(#[from] SelectError),
}

impl QueryError {
    /// Prometheus's API `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::BadData(_) => "bad_data",
            QueryError::Execution(_) | QueryError::TooManySamples { .. } => "execution",
            QueryError::Timeout { .. } => "timeout",
            QueryError::Storage(_) => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_follow_prometheus() {
        assert_eq!(QueryError::BadData("x".into()).error_type(), "bad_data");
        assert_eq!(QueryError::Execution("x".into()).error_type(), "execution");
        let too_many = QueryError::TooManySamples { limit: 1 };
        assert_eq!(too_many.error_type(), "execution");
        assert_eq!(
            too_many.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
        let timeout = QueryError::Timeout {
            stage: "expression evaluation",
        };
        assert_eq!(timeout.error_type(), "timeout");
        assert_eq!(
            timeout.to_string(),
            "query timed out in expression evaluation"
        );
    }
}
