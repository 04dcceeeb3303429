//! The API's errors and their one mapping to HTTP: Prometheus's `errorType`, its status code, and
//! the body `{"status":"error","errorType":"...","error":"..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use skyview_promql::{go_quote, json, QueryError};

/// Why a request failed, one variant per Prometheus `errorType` this API produces. The messages
/// are Prometheus 2.42's texts where it has one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// A parameter or the query is invalid (`bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (`execution`, 422): many-to-many matches, too many samples, ...
    #[error("{0}")]
    Execution(String),
    /// The query ran out of time, in the queue or in evaluation (`timeout`, 503).
    #[error("{0}")]
    Timeout(String),
    /// The storage failed (`internal`, 500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// `invalid parameter "<name>": <cause>`, Prometheus's wrapper for parameter errors.
    pub fn invalid_param(name: &str, cause: impl std::fmt::Display) -> Self {
        ApiError::BadData(format!("invalid parameter {}: {cause}", go_quote(name)))
    }

    /// Prometheus's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::BadData(_) => "bad_data",
            ApiError::Execution(_) => "execution",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The status code Prometheus answers this error type with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadData(_) => StatusCode::BAD_REQUEST,
            ApiError::Execution(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error JSON body.
    pub fn body(&self) -> String {
        let mut out = String::from("{\"status\":\"error\",\"errorType\":\"");
        out.push_str(self.error_type());
        out.push_str("\",\"error\":");
        json::write_string(&self.to_string(), &mut out);
        out.push('}');
        out
    }
}

impl From<QueryError> for ApiError {
    /// Maps an engine error as Prometheus's `returnAPIError` does. Parameter-level `bad_data`
    /// (parse errors) keeps the engine's text; callers add the `invalid parameter` wrapper where
    /// Prometheus does.
    fn from(err: QueryError) -> Self {
        let message = err.to_string();
        match err {
            QueryError::BadData(_) => ApiError::BadData(message),
            QueryError::Execution(_) | QueryError::TooManySamples { .. } => {
                ApiError::Execution(message)
            }
            QueryError::Timeout { .. } => ApiError::Timeout(message),
            QueryError::Storage(_) => ApiError::Internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_promql::SelectError;

    #[test]
    fn error_types_and_status_codes_follow_prometheus() {
        let cases = [
            (ApiError::BadData("x".into()), "bad_data", 400),
            (ApiError::Execution("x".into()), "execution", 422),
            (ApiError::Timeout("x".into()), "timeout", 503),
            (ApiError::Internal("x".into()), "internal", 500),
        ];
        for (err, typ, code) in cases {
            assert_eq!(err.error_type(), typ);
            assert_eq!(err.status().as_u16(), code);
        }
    }

    #[test]
    fn body_is_prometheus_error_json() {
        let err = ApiError::invalid_param("start", "cannot parse \"x\" to a valid timestamp");
        assert_eq!(
            err.body(),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"}"#
        );
    }

    #[test]
    fn engine_errors_map_like_return_api_error() {
        let too_many = ApiError::from(QueryError::TooManySamples { limit: 1 });
        assert_eq!(too_many.error_type(), "execution");
        let timeout = ApiError::from(QueryError::Timeout {
            stage: "expression evaluation",
        });
        assert_eq!(
            timeout,
            ApiError::Timeout("query timed out in expression evaluation".into())
        );
        let storage = ApiError::from(QueryError::Storage(SelectError::new("disk")));
        assert_eq!(storage, ApiError::Internal("storage error: disk".into()));
    }
}
