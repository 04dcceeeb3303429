//! The query engine: parses a query, reads the data every selector needs from a
//! [`Queryable`] once, then evaluates at one time (instant query) or at every step (range
//! query), with Prometheus's limits and parameter checks.

use std::sync::Once;
use std::time::{Duration, Instant};

use promql_parser::parser::{self, value::ValueType, Expr, Function};

use crate::error::QueryError;
use crate::eval::{Evaluator, Value};
use crate::labels::{Labels, PrehashedMap};
use crate::queryable::Queryable;
use crate::selection::{plan, QueryTimes, SelectedData};
use crate::validate::check_dialect;
use crate::value::{QueryValue, Sample, Series};

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Engine limits and defaults; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`, 5m).
    pub lookback_delta: Duration,
    /// The most samples a query may hold at once (`--query.max-samples`, 50,000,000).
    pub max_samples: usize,
    /// The longest a query may run (`--query.timeout`, 2m).
    pub timeout: Duration,
    /// The step of a subquery that gives none; Prometheus uses the global evaluation interval
    /// (1m by default).
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// Evaluates PromQL with Prometheus 2.42's semantics.
#[derive(Debug, Clone)]
pub struct Engine {
    opts: EngineOptions,
}

static REGISTER_HOLT_WINTERS: Once = Once::new();

impl Engine {
    /// Creates an engine. The first call also teaches the parser `holt_winters`, which
    /// Prometheus 2.42 has but `promql-parser` 0.11 only knows under its 3.x name.
    pub fn new(opts: EngineOptions) -> Self {
        REGISTER_HOLT_WINTERS.call_once(|| {
            // Fails only if the name were a built-in, in which case it already parses.
            let _ = parser::register_extra_functions(vec![Function::new(
                "holt_winters",
                vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
                0,
                ValueType::Vector,
                false,
            )]);
        });
        Self { opts }
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `time_ms` (milliseconds since the epoch).
    pub async fn instant_query(
        &self,
        queryable: &dyn Queryable,
        query: &str,
        time_ms: i64,
    ) -> Result<QueryValue, QueryError> {
        let deadline = Instant::now() + self.opts.timeout;
        let expr = parse(query)?;
        let times = self.times(time_ms, time_ms, 1);
        let data = select(queryable, &expr, &times, deadline).await?;
        let ev = Evaluator::new(&data, times, Some(deadline), self.opts.max_samples);
        ev.start_step(0)?;
        Ok(match ev.eval(&expr, time_ms)? {
            Value::Scalar(v) => QueryValue::Scalar { t: time_ms, v },
            Value::String(v) => QueryValue::String { t: time_ms, v },
            Value::Matrix(series) => QueryValue::Matrix(series),
            Value::Vector(samples) => QueryValue::Vector {
                t: time_ms,
                samples: samples
                    .into_iter()
                    .map(|s| crate::value::VectorSample { t: time_ms, ..s })
                    .collect(),
            },
        })
    }

    /// Evaluates `query` at every `step_ms` from `start_ms` to `end_ms` (inclusive) and returns
    /// a matrix sorted by labels, as Prometheus's `query_range`.
    pub async fn range_query(
        &self,
        queryable: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryValue, QueryError> {
        let deadline = Instant::now() + self.opts.timeout;
        check_range_params(start_ms, end_ms, step_ms)?;
        let expr = parse(query)?;
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                let documented = match other {
                    ValueType::Matrix => "range vector",
                    _ => "string",
                };
                return Err(QueryError::BadData(format!(
                    "invalid expression type \"{documented}\" for range query, must be Scalar or instant Vector"
                )));
            }
        }
        let times = self.times(start_ms, end_ms, step_ms);
        let data = select(queryable, &expr, &times, deadline).await?;
        let ev = Evaluator::new(&data, times, Some(deadline), self.opts.max_samples);
        let mut index: PrehashedMap<Labels, usize> = PrehashedMap::default();
        let mut out: Vec<Series> = Vec::new();
        let mut retained = 0;
        let mut t = start_ms;
        while t <= end_ms {
            ev.start_step(retained)?;
            let points = match ev.eval(&expr, t)? {
                Value::Scalar(v) => vec![(Labels::empty(), v)],
                Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect(),
                Value::Matrix(_) | Value::String(_) => {
                    return Err(QueryError::Execution(
                        "range query step did not produce an instant vector or scalar".to_string(),
                    ))
                }
            };
            retained += points.len();
            for (labels, v) in points {
                let slot = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels,
                        samples: Vec::new(),
                    });
                    out.len() - 1
                });
                out[slot].samples.push(Sample { t, v });
            }
            t = match t.checked_add(step_ms) {
                Some(next) => next,
                None => break,
            };
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(QueryValue::Matrix(out))
    }

    fn times(&self, start: i64, end: i64, step: i64) -> QueryTimes {
        QueryTimes {
            start,
            end,
            step,
            lookback: self.opts.lookback_delta.as_millis() as i64,
            subquery_step: (self.opts.default_subquery_step.as_millis() as i64).max(1),
        }
    }
}

/// Prometheus's `query_range` parameter checks, with its messages.
fn check_range_params(start: i64, end: i64, step: i64) -> Result<(), QueryError> {
    if end < start {
        return Err(QueryError::BadData(
            "end timestamp must not be before start time".to_string(),
        ));
    }
    if step <= 0 {
        return Err(QueryError::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .to_string(),
        ));
    }
    if end.saturating_sub(start) / step > MAX_POINTS_PER_SERIES {
        return Err(QueryError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .to_string(),
        ));
    }
    Ok(())
}

/// Parses and checks the dialect; every failure is `bad_data`.
fn parse(query: &str) -> Result<Expr, QueryError> {
    let expr =
        parser::parse(query).map_err(|e| QueryError::BadData(format!("parse error: {e}")))?;
    check_dialect(&expr)?;
    Ok(expr)
}

/// Reads every selector's data once.
async fn select(
    queryable: &dyn Queryable,
    expr: &Expr,
    times: &QueryTimes,
    deadline: Instant,
) -> Result<SelectedData, QueryError> {
    let mut data = SelectedData::default();
    for req in plan(expr, times) {
        let series = queryable
            .select(&req.matchers, req.min_t, req.max_t)
            .await?;
        data.insert(&req, series);
        if Instant::now() > deadline {
            return Err(QueryError::Timeout {
                stage: "expression evaluation",
            });
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryQueryable;

    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn query_futures_are_send() {
        let engine = Engine::new(EngineOptions::default());
        let q = MemoryQueryable::new();
        assert_send(engine.instant_query(&q, "up", 0));
        assert_send(engine.range_query(&q, "up", 0, 1, 1));
    }

    #[test]
    fn range_parameters_are_checked() {
        assert!(check_range_params(0, 10, 1).is_ok());
        assert!(check_range_params(10, 0, 1).is_err());
        assert!(check_range_params(0, 10, 0).is_err());
        assert!(check_range_params(0, 11_001, 1).is_err());
    }

    #[test]
    fn parse_errors_are_bad_data() {
        let err = parse("sum(").unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
        Engine::new(EngineOptions::default());
        assert!(parse("holt_winters(x[5m], 0.5, 0.5)").is_ok());
    }
}
