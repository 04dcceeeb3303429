//! `GET /api/v1/metadata`: metric metadata (type, help, unit) by metric name. Skyview does not
//! store metadata yet, so the answer is always the empty object `{}`; the `limit` parameter is
//! still checked as Prometheus checks it.

use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::params::Params;
use crate::response::Success;

/// The handler.
pub async fn metadata(params: Params) -> Response {
    let limit = params.get("limit");
    if !limit.is_empty() && limit.parse::<i64>().is_err() {
        return ApiError::BadData("limit must be a number".to_string()).into_response();
    }
    Success::new("{}".to_string()).into_response()
}
