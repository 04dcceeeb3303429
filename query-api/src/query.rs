//! `/api/v1/query` and `/api/v1/query_range`: parameter checks in Prometheus 2.42's order and
//! words, the `--query.max-concurrency` queue, the timeout, evaluation, and the `data` object
//! (`resultType`, `result`, and `stats` when asked for).
//!
//! Timeouts: the deadline is the smaller of `--query.timeout` and the `timeout` parameter,
//! counted from the request's arrival. Waiting for a concurrency slot past it fails with
//! `query timed out in query queue`; evaluating past it with `query timed out in expression
//! evaluation` (`errorType: timeout`, 503). The whole evaluation future, storage selects
//! included, is dropped at the deadline.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use skyview_promql::{json, Engine, QueryValue};
use tokio::time::Instant;

use crate::duration::parse_duration;
use crate::error::ApiError;
use crate::params::Params;
use crate::response::Success;
use crate::state::QueryState;
use crate::stats::{result_points, CountingQueryable, QueryStats};
use crate::timestamp::parse_time;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS_PER_SERIES: i128 = 11_000;

/// When and how often to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evaluation {
    /// At one time (milliseconds).
    Instant { time: i64 },
    /// From `start` to `end` every `step` (milliseconds).
    Range { start: i64, end: i64, step: i64 },
}

/// `GET|POST /api/v1/query`: `query`, `time` (default now), `timeout`, `stats`.
#[tracing::instrument(skip_all, fields(query = params.get("query")))]
pub async fn instant_query(State(state): State<QueryState>, params: Params) -> Response {
    let arrived = Instant::now();
    let result = async {
        let time = params.time_or("time", state.now_ms())?;
        let timeout = timeout_param(&params)?;
        run(
            &state,
            &params,
            Evaluation::Instant { time },
            timeout,
            arrived,
        )
        .await
    }
    .await;
    respond(result)
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`, `stats`.
#[tracing::instrument(skip_all, fields(query = params.get("query")))]
pub async fn range_query(State(state): State<QueryState>, params: Params) -> Response {
    let arrived = Instant::now();
    let result = async {
        let eval = range_params(&params)?;
        let timeout = timeout_param(&params)?;
        run(&state, &params, eval, timeout, arrived).await
    }
    .await;
    respond(result)
}

fn respond(result: Result<Success, ApiError>) -> Response {
    match result {
        Ok(success) => success.into_response(),
        Err(err) => {
            tracing::debug!(error_type = err.error_type(), error = %err, "query failed");
            err.into_response()
        }
    }
}

/// `start`, `end` and `step`, checked as Prometheus's `queryRange` does, in its order.
fn range_params(params: &Params) -> Result<Evaluation, ApiError> {
    let start = parse_time(params.get("start")).map_err(|e| ApiError::invalid_param("start", e))?;
    let end = parse_time(params.get("end")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns =
        parse_duration(params.get("step")).map_err(|e| ApiError::invalid_param("step", e))?;
    if step_ns <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let span_ns = (i128::from(end) - i128::from(start)) * 1_000_000;
    if span_ns / i128::from(step_ns) > MAX_POINTS_PER_SERIES {
        return Err(ApiError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .to_string(),
        ));
    }
    Ok(Evaluation::Range {
        start,
        end,
        // The engine works in whole milliseconds, as Prometheus's does.
        step: step_ns / 1_000_000,
    })
}

/// The optional `timeout` parameter.
fn timeout_param(params: &Params) -> Result<Option<Duration>, ApiError> {
    match params.get("timeout") {
        "" => Ok(None),
        value => {
            let ns = parse_duration(value).map_err(|e| ApiError::invalid_param("timeout", e))?;
            Ok(Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(0))))
        }
    }
}

/// Queues for a slot, evaluates, and encodes the `data` object.
async fn run(
    state: &QueryState,
    params: &Params,
    eval: Evaluation,
    timeout: Option<Duration>,
    arrived: Instant,
) -> Result<Success, ApiError> {
    let config = state.config();
    let limit = timeout.map_or(config.engine.timeout, |t| t.min(config.engine.timeout));
    let deadline = arrived + limit;
    let queue_timeout = || ApiError::Timeout("query timed out in query queue".to_string());
    let _permit = match tokio::time::timeout_at(deadline, state.gate.acquire()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_closed)) => return Err(ApiError::Internal("query queue closed".to_string())),
        Err(_elapsed) => return Err(queue_timeout()),
    };
    let started = Instant::now();
    if started >= deadline {
        return Err(queue_timeout());
    }
    let mut options = config.engine.clone();
    options.timeout = deadline - started;
    let engine = Engine::new(options);
    let queryable = state.queryable(params)?;
    let counting = CountingQueryable::new(queryable.as_ref());
    let query = params.get("query");
    let evaluated = match eval {
        Evaluation::Instant { time } => {
            tokio::time::timeout_at(deadline, engine.instant_query(&counting, query, time)).await
        }
        Evaluation::Range { start, end, step } => {
            tokio::time::timeout_at(
                deadline,
                engine.range_query(&counting, query, start, end, step),
            )
            .await
        }
    };
    let value = match evaluated {
        Err(_elapsed) => {
            return Err(ApiError::Timeout(
                "query timed out in expression evaluation".to_string(),
            ))
        }
        Ok(Err(err)) => {
            let err = ApiError::from(err);
            // Prometheus reports the instant query's parse errors as a bad `query` parameter,
            // the range query's as they are.
            return Err(match (eval, err) {
                (Evaluation::Instant { .. }, ApiError::BadData(msg)) => {
                    ApiError::invalid_param("query", msg)
                }
                (_, err) => err,
            });
        }
        Ok(Ok(value)) => value,
    };
    let stats = (!params.get("stats").is_empty()).then(|| QueryStats {
        queue: started - arrived,
        select: counting.select_time(),
        eval: started.elapsed(),
        selected_samples: counting.samples(),
        result_points: result_points(&value),
    });
    Ok(Success::new(encode(&value, stats.as_ref())))
}

/// `{"resultType":...,"result":...}` plus `"stats"` when asked for.
fn encode(value: &QueryValue, stats: Option<&QueryStats>) -> String {
    let mut data = json::encode_data(value);
    if let Some(stats) = stats {
        data.pop();
        data.push_str(",\"stats\":");
        data.push_str(&stats.encode());
        data.push('}');
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(query: &str) -> Result<Evaluation, ApiError> {
        range_params(&Params::from_parts(b"", Some(query)))
    }

    #[test]
    fn range_parameters_in_prometheus_order() {
        assert_eq!(
            range("start=0&end=60&step=15"),
            Ok(Evaluation::Range {
                start: 0,
                end: 60_000,
                step: 15_000
            })
        );
        assert_eq!(
            range("start=0&end=60&step=0.5"),
            Ok(Evaluation::Range {
                start: 0,
                end: 60_000,
                step: 500
            })
        );
        assert_eq!(
            range("start=1970-01-01T00:00:00Z&end=1970-01-01T01:00:00Z&step=1m"),
            Ok(Evaluation::Range {
                start: 0,
                end: 3_600_000,
                step: 60_000
            })
        );
        let msg = |q: &str| range(q).unwrap_err().to_string();
        assert_eq!(
            msg("start=x&end=y"),
            r#"invalid parameter "start": cannot parse "x" to a valid timestamp"#
        );
        assert_eq!(
            msg("start=10&end=5&step=x"),
            r#"invalid parameter "end": end timestamp must not be before start time"#
        );
        assert_eq!(
            msg("start=0&end=5"),
            r#"invalid parameter "step": cannot parse "" to a valid duration"#
        );
        assert_eq!(
            msg("start=0&end=5&step=-1"),
            r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#
        );
        assert_eq!(
            msg("start=0&end=11001&step=1"),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        );
        assert!(range("start=0&end=11000&step=1").is_ok());
    }

    #[test]
    fn timeout_parameter() {
        let p = |q: &str| timeout_param(&Params::from_parts(b"", Some(q)));
        assert_eq!(p(""), Ok(None));
        assert_eq!(p("timeout=5s"), Ok(Some(Duration::from_secs(5))));
        assert_eq!(p("timeout=0.25"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(
            p("timeout=x").unwrap_err().to_string(),
            r#"invalid parameter "timeout": cannot parse "x" to a valid duration"#
        );
    }

    #[test]
    fn stats_are_appended_to_data() {
        let value = QueryValue::Scalar { t: 1000, v: 2.0 };
        assert_eq!(
            encode(&value, None),
            r#"{"resultType":"scalar","result":[1,"2"]}"#
        );
        let with = encode(&value, Some(&QueryStats::default()));
        assert!(with.starts_with(r#"{"resultType":"scalar","result":[1,"2"],"stats":{"timings":{"#));
        assert!(with.ends_with("}}}"));
    }
}
