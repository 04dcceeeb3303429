//! `POST /api/v1/read`: Prometheus remote read, SAMPLES response type, so a stock Prometheus
//! can use the cluster as a `remote_read` endpoint.
//!
//! As in Prometheus's own read handler:
//! 1. the body (snappy-compressed `ReadRequest`) is read and decoded under the write path's
//!    size limits;
//! 2. the response type is SAMPLES when the reader accepts it (or names none); a reader that
//!    accepts only STREAMED_XOR_CHUNKS gets a 400;
//! 3. each query's series are selected from every shard (each read linearizably at its
//!    leader, so a read sees every acknowledged write: invariant I3) with their raw samples in
//!    `[start, end]`, staleness markers included: the reader's engine applies them;
//! 4. more than `--storage.remote.read-sample-limit` samples in one response is a 400, and at
//!    most `--storage.remote.read-concurrent-limit` reads run at once (the rest wait).
//!
//! Errors are Prometheus's error JSON; the reader reports the body with the status.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use promql_parser::label::Matcher as PromMatcher;
use promql_parser::parser::token::{T_EQL, T_EQL_REGEX, T_NEQ, T_NEQ_REGEX};
use skyview_promql::Queryable;

use super::body::read_limited;
use super::error::ApiError;
use super::query_source::ClusterQuerySource;
use super::tenant::tenant_of;
use super::ReceiverState;
use crate::remote_read::{
    LabelMatcher, MatchType, QueryResult, ReadRequest, ReadResponse, ResponseType,
    CONTENT_ENCODING, CONTENT_TYPE,
};
use crate::remote_write::codec::{decode_message, encode_message};
use crate::remote_write::{Label, Sample, TimeSeries};

/// The remote-read handler.
#[tracing::instrument(skip_all, fields(tenant = tracing::field::Empty))]
pub async fn read(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = tenant_of(&headers)?;
    tracing::Span::current().record("tenant", tenant.as_str());
    let body = read_limited(&headers, body, state.limits.max_body_bytes).await?;
    let request: ReadRequest = decode_message(&body, state.limits.max_decoded_bytes)
        .map_err(|e| ApiError::RemoteRead(format!("decoding the remote-read request: {e}")))?;
    check_response_types(&request.accepted_response_types)?;
    let queries = request
        .queries
        .iter()
        .map(|query| {
            let matchers = query
                .matchers
                .iter()
                .map(matcher)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((matchers, query.start_timestamp_ms, query.end_timestamp_ms))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;

    // A closed semaphore is impossible (it is never closed): treat it as no limit.
    let _slot = state.read_slots.acquire().await.ok();
    let data = ClusterQuerySource::tenant_data(Arc::clone(&state.node), tenant);
    let limit = state.limits.remote_read_sample_limit;
    let mut samples = 0usize;
    let mut results = Vec::with_capacity(queries.len());
    for (matchers, start, end) in &queries {
        let result = select(data.as_ref(), matchers, *start, *end).await?;
        samples += result
            .timeseries
            .iter()
            .map(|series| series.samples.len())
            .sum::<usize>();
        if limit > 0 && samples > limit {
            return Err(ApiError::RemoteRead(format!(
                "exceeded sample limit ({limit})"
            )));
        }
        results.push(result);
    }
    let body = encode_message(&ReadResponse { results })
        .map_err(|e| ApiError::Task(format!("encoding the remote-read response: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CONTENT_ENCODING, CONTENT_ENCODING),
        ],
        body,
    )
        .into_response())
}

/// SAMPLES is served when the reader names it, or names nothing (Prometheus's default).
fn check_response_types(accepted: &[i32]) -> Result<(), ApiError> {
    if accepted.is_empty() || accepted.contains(&(ResponseType::Samples as i32)) {
        return Ok(());
    }
    let names: Vec<String> = accepted
        .iter()
        .map(|t| ResponseType::try_from(*t).map_or_else(|_| t.to_string(), |t| format!("{t:?}")))
        .collect();
    Err(ApiError::RemoteRead(format!(
        "none of the requested response types are supported: [{}]; this server answers \
         SAMPLES only",
        names.join(", ")
    )))
}

/// A wire matcher as the query engine's (regexes anchored, Go syntax as PromQL has it).
fn matcher(m: &LabelMatcher) -> Result<PromMatcher, ApiError> {
    let op = match MatchType::try_from(m.r#type) {
        Ok(MatchType::Eq) => T_EQL,
        Ok(MatchType::Neq) => T_NEQ,
        Ok(MatchType::Re) => T_EQL_REGEX,
        Ok(MatchType::Nre) => T_NEQ_REGEX,
        Err(_) => {
            return Err(ApiError::RemoteRead(format!(
                "invalid matcher type {} for label {:?}",
                m.r#type, m.name
            )))
        }
    };
    PromMatcher::new_matcher(op, m.name.clone(), m.value.clone())
        .map_err(|e| ApiError::RemoteRead(format!("invalid matcher for label {:?}: {e}", m.name)))
}

/// One query's series with their raw samples in `[start, end]`.
async fn select(
    data: &dyn Queryable,
    matchers: &[PromMatcher],
    start: i64,
    end: i64,
) -> Result<QueryResult, ApiError> {
    let series = data
        .select(matchers, start, end)
        .await
        .map_err(|e| ApiError::Select(e.to_string()))?;
    let timeseries = series
        .into_iter()
        .map(|series| TimeSeries {
            labels: series
                .labels
                .iter()
                .map(|label| Label {
                    name: label.name.to_string(),
                    value: label.value.to_string(),
                })
                .collect(),
            samples: series
                .samples
                .iter()
                .filter(|s| (start..=end).contains(&s.t))
                .map(|s| Sample {
                    value: s.v,
                    timestamp: s.t,
                })
                .collect(),
        })
        .collect();
    Ok(QueryResult { timeseries })
}
