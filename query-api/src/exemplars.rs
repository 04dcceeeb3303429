//! `GET|POST /api/v1/query_exemplars`: Skyview stores no exemplars, so a valid request gets an
//! empty list. Parameters are checked as Prometheus checks them (`start`, `end`, their order,
//! and that `query` parses).
//!
//! Deviation: Prometheus answers a query without any selector (`1+1`) with no `data` field at
//! all; this answers `[]`.

use axum::response::{IntoResponse, Response};
use promql_parser::parser;

use crate::error::ApiError;
use crate::params::Params;
use crate::response::Success;
use crate::timestamp::{MAX_TIME_MS, MIN_TIME_MS};

/// The handler.
pub async fn query_exemplars(params: Params) -> Response {
    match check(&params) {
        Ok(()) => Success::new("[]".to_string()).into_response(),
        Err(err) => err.into_response(),
    }
}

fn check(params: &Params) -> Result<(), ApiError> {
    let start = params.time_or("start", MIN_TIME_MS)?;
    let end = params.time_or("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::BadData(
            "end timestamp must not be before start timestamp".to_string(),
        ));
    }
    parser::parse(params.get("query"))
        .map(|_| ())
        .map_err(|e| ApiError::BadData(format!("parse error: {e}")))
}
