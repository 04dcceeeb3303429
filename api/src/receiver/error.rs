//! Every way a receiver request can fail, and the one place they become HTTP responses.
//!
//! Bodies follow the Prometheus HTTP API's error shape,
//! `{"status":"error","errorType":"bad_data","error":"<message>"}`. The status code is what a
//! remote-write sender acts on: 4xx is dropped (retrying cannot help: the request is invalid,
//! or only partly storable), 5xx is retried with the same batch identity, which is safe because
//! shards deduplicate. A write whose outcome is unknown (timed out after it was proposed) is a
//! 503, never a 4xx: it may well have been stored.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use skyview_raft::node::{AdminError, InternalError, ReadError, WriteError};

use super::validate::InvalidSeries;
use crate::remote_write::{BatchIdError, WireError};

/// A failed receiver request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is larger than the route accepts; it was not buffered past the limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The body could not be read from the connection.
    #[error("reading the request body: {0}")]
    BodyRead(String),
    /// The body is not a snappy-compressed `WriteRequest`, or declares too large a size.
    #[error("decoding the remote-write request: {0}")]
    Decode(#[from] WireError),
    /// The `X-Scope-OrgID` header is not a valid tenant id.
    #[error(
        "invalid tenant {tenant:?} in X-Scope-OrgID: must be 1-150 characters of \
         [a-zA-Z0-9!_.*'()-], and not \".\" or \"..\""
    )]
    InvalidTenant { tenant: String },
    /// The `X-Skyview-Batch` header is malformed.
    #[error("invalid X-Skyview-Batch header: {0}")]
    BatchHeader(#[from] BatchIdError),
    /// A series of the request is invalid; nothing of the request was stored.
    #[error("{0}")]
    InvalidSeries(#[from] InvalidSeries),
    /// Some samples were refused by the store; the rest of the request is stored.
    #[error("{rejected} samples rejected, first: {first}")]
    SamplesRejected { rejected: u64, first: String },
    /// A shard did not acknowledge its part of a write.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A shard or the meta group could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An administrative request failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A query parameter is missing or invalid.
    #[error("{0}")]
    BadQuery(String),
    /// A peer RPC was refused.
    #[error(transparent)]
    Internal(#[from] InternalError),
    /// A blocking task of the request panicked (a bug): nothing was proposed.
    #[error("request task failed: {0}")]
    Task(String),
    /// A remote-read request that cannot be answered as asked: undecodable, no supported
    /// response type, a bad matcher, or above the sample limit.
    #[error("{0}")]
    RemoteRead(String),
    /// Series could not be selected from a shard.
    #[error("selecting series: {0}")]
    Select(String),
    /// A metadata entry of a write is invalid; the rest of the request is stored.
    #[error("{0}")]
    InvalidMetadata(String),
}

impl ApiError {
    /// The HTTP status and the Prometheus `errorType` of this error.
    pub fn status(&self) -> (StatusCode, &'static str) {
        const BAD_DATA: (StatusCode, &str) = (StatusCode::BAD_REQUEST, "bad_data");
        const UNAVAILABLE: (StatusCode, &str) = (StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        const TIMEOUT: (StatusCode, &str) = (StatusCode::SERVICE_UNAVAILABLE, "timeout");
        const INTERNAL: (StatusCode, &str) = (StatusCode::INTERNAL_SERVER_ERROR, "internal");
        match self {
            ApiError::BodyTooLarge { .. }
            | ApiError::BodyRead(_)
            | ApiError::Decode(_)
            | ApiError::InvalidTenant { .. }
            | ApiError::BatchHeader(_)
            | ApiError::InvalidSeries(_)
            | ApiError::SamplesRejected { .. }
            | ApiError::BadQuery(_)
            | ApiError::RemoteRead(_)
            | ApiError::InvalidMetadata(_) => BAD_DATA,
            ApiError::Write(WriteError::Unavailable { .. }) => UNAVAILABLE,
            ApiError::Write(WriteError::Timeout { .. }) => TIMEOUT,
            ApiError::Write(WriteError::Fatal(_)) => INTERNAL,
            ApiError::Read(ReadError::Unavailable { .. }) => UNAVAILABLE,
            ApiError::Read(ReadError::Timeout { .. }) => TIMEOUT,
            ApiError::Read(ReadError::Invalid(_)) => BAD_DATA,
            ApiError::Read(ReadError::Storage(_)) => INTERNAL,
            ApiError::Admin(AdminError::UnknownNode { .. }) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Admin(AdminError::Refused(_)) => BAD_DATA,
            ApiError::Admin(AdminError::Unavailable(_)) => UNAVAILABLE,
            ApiError::Admin(AdminError::Timeout) => TIMEOUT,
            ApiError::Internal(InternalError::UnknownPath { .. }) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ApiError::Internal(InternalError::BadBody { .. }) => BAD_DATA,
            ApiError::Internal(InternalError::GroupNotHosted { .. })
            | ApiError::Internal(InternalError::ShuttingDown) => UNAVAILABLE,
            ApiError::Internal(InternalError::Encode(_))
            | ApiError::Task(_)
            | ApiError::Select(_) => INTERNAL,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.status();
        error_response(status, error_type, &self.to_string())
    }
}

/// A Prometheus-shaped error response.
pub fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "status": "error",
        "errorType": error_type,
        "error": message,
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn errors_have_prometheus_shape_and_status() {
        let response = ApiError::BodyTooLarge { limit: 10 }.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "JSON body"
        );
        assert_eq!(
            body_json(response).await,
            serde_json::json!({
                "status": "error",
                "errorType": "bad_data",
                "error": "request body exceeds the limit of 10 bytes",
            })
        );
    }

    #[test]
    fn write_failures_are_retryable_unless_fatal() {
        let status = |e: WriteError| ApiError::Write(e).status();
        assert_eq!(
            status(WriteError::Unavailable {
                shard: 3,
                reason: "no leader".into()
            }),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        );
        // Unknown outcome: 5xx so the sender retries, never 4xx which would drop the data.
        assert_eq!(
            status(WriteError::Timeout { shard: 3 }),
            (StatusCode::SERVICE_UNAVAILABLE, "timeout")
        );
        assert_eq!(
            status(WriteError::Fatal("disk".into())),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert_eq!(
            ApiError::SamplesRejected {
                rejected: 2,
                first: "too old".into()
            }
            .status()
            .0,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn internal_errors_map_to_what_peers_retry() {
        let status = |e: InternalError| ApiError::Internal(e).status().0;
        assert_eq!(
            status(InternalError::UnknownPath { path: "x".into() }),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(InternalError::GroupNotHosted {
                group: "shard-1".into()
            }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(InternalError::ShuttingDown),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(InternalError::BadBody {
                path: "x".into(),
                reason: "eof".into()
            }),
            StatusCode::BAD_REQUEST
        );
    }
}
