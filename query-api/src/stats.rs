//! The `stats` of `query` and `query_range` (any non-empty `stats` parameter), in Prometheus
//! 2.42's shape:
//!
//! ```json
//! "stats": {
//!   "timings": {"evalTotalTime": 0.0012, "resultSortTime": 0, "queryPreparationTime": 0.0004,
//!               "innerEvalTime": 0.0008, "execQueueTime": 0.00001, "execTotalTime": 0.0012},
//!   "samples": {"totalQueryableSamples": 120, "peakSamples": 120}
//! }
//! ```
//!
//! What is approximate (the engine does not expose Prometheus's counters):
//! - `queryPreparationTime` is the time spent in `Queryable::select`, `innerEvalTime` the rest
//!   of the engine call, `resultSortTime` is always 0 (sorting is inside the engine call).
//! - `totalQueryableSamples` counts the samples the selects returned, each once. Prometheus
//!   counts each sample once per step that reads it, so range queries with overlapping windows
//!   report more there; instant selectors report fewer there (one per series, not the whole
//!   lookback window).
//! - `peakSamples` is the larger of the selected samples and the result's points.
//! - `totalQueryableSamplesPerStep` (`stats=all`) is not produced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use promql_parser::label::Matcher;
use skyview_promql::{format_float, QueryValue, Queryable, SelectError, Series};

/// A [`Queryable`] wrapper that counts the samples selected and the time spent selecting.
pub struct CountingQueryable<'q> {
    inner: &'q dyn Queryable,
    samples: AtomicU64,
    select_nanos: AtomicU64,
}

impl std::fmt::Debug for CountingQueryable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingQueryable")
            .field("samples", &self.samples)
            .field("select_nanos", &self.select_nanos)
            .finish_non_exhaustive()
    }
}

impl<'q> CountingQueryable<'q> {
    /// Wraps `inner`.
    pub fn new(inner: &'q dyn Queryable) -> Self {
        Self {
            inner,
            samples: AtomicU64::new(0),
            select_nanos: AtomicU64::new(0),
        }
    }

    /// Samples returned by all selects so far.
    pub fn samples(&self) -> u64 {
        self.samples.load(Ordering::Relaxed)
    }

    /// Time spent in selects so far.
    pub fn select_time(&self) -> Duration {
        Duration::from_nanos(self.select_nanos.load(Ordering::Relaxed))
    }
}

impl Queryable for CountingQueryable<'_> {
    fn select<'a>(
        &'a self,
        matchers: &'a [Matcher],
        min_t: i64,
        max_t: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>> {
        Box::pin(async move {
            let started = Instant::now();
            let result = self.inner.select(matchers, min_t, max_t).await;
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.select_nanos.fetch_add(nanos, Ordering::Relaxed);
            if let Ok(series) = &result {
                let n: usize = series.iter().map(|s| s.samples.len()).sum();
                self.samples.fetch_add(n as u64, Ordering::Relaxed);
            }
            result
        })
    }
}

/// What one query's `stats` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryStats {
    /// Waiting for a `--query.max-concurrency` slot.
    pub queue: Duration,
    /// Inside `Queryable::select`.
    pub select: Duration,
    /// The whole engine call (selects included).
    pub eval: Duration,
    /// Samples the selects returned.
    pub selected_samples: u64,
    /// Points in the result.
    pub result_points: u64,
}

impl QueryStats {
    /// The `stats` JSON object.
    pub fn encode(&self) -> String {
        let secs = |d: Duration| go_json_float(d.as_secs_f64());
        let inner = self.eval.saturating_sub(self.select);
        format!(
            concat!(
                "{{\"timings\":{{\"evalTotalTime\":{},\"resultSortTime\":0,",
                "\"queryPreparationTime\":{},\"innerEvalTime\":{},\"execQueueTime\":{},",
                "\"execTotalTime\":{}}},\"samples\":{{\"totalQueryableSamples\":{},",
                "\"peakSamples\":{}}}}}"
            ),
            secs(self.eval),
            secs(self.select),
            secs(inner),
            secs(self.queue),
            secs(self.queue + self.eval),
            self.selected_samples,
            self.selected_samples.max(self.result_points),
        )
    }
}

/// Points in a query result (one per vector element, one per matrix point, one for a scalar or
/// string).
pub fn result_points(value: &QueryValue) -> u64 {
    let n = match value {
        QueryValue::Vector { samples, .. } => samples.len(),
        QueryValue::Matrix(series) => series.iter().map(|s| s.samples.len()).sum(),
        QueryValue::Scalar { .. } | QueryValue::String { .. } => 1,
    };
    n as u64
}

/// A float as Go's `encoding/json` writes it: plain decimal, exponent form (`1e-7`) below 1e-6
/// and from 1e21 on.
fn go_json_float(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        format!("{v:e}")
    } else {
        format_float(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_promql::MemoryQueryable;

    #[test]
    fn counts_selected_samples() {
        let mut data = MemoryQueryable::new();
        data.load("load 1m\n  a 1 2 3\n  b 1").unwrap();
        let counting = CountingQueryable::new(&data);
        let got = futures::executor::block_on(counting.select(&[], 0, 60_000)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(counting.samples(), 3);
    }

    #[test]
    fn stats_json_shape() {
        let stats = QueryStats {
            queue: Duration::from_millis(1),
            select: Duration::from_millis(2),
            eval: Duration::from_millis(5),
            selected_samples: 10,
            result_points: 12,
        };
        assert_eq!(
            stats.encode(),
            concat!(
                r#"{"timings":{"evalTotalTime":0.005,"resultSortTime":0,"queryPreparationTime":0.002,"#,
                r#""innerEvalTime":0.003,"execQueueTime":0.001,"execTotalTime":0.006},"#,
                r#""samples":{"totalQueryableSamples":10,"peakSamples":12}}"#
            )
        );
    }

    #[test]
    fn floats_like_go_json() {
        assert_eq!(go_json_float(0.0), "0");
        assert_eq!(go_json_float(0.000_001), "0.000001");
        assert_eq!(go_json_float(1.2e-7), "1.2e-7");
        assert_eq!(go_json_float(1.5), "1.5");
    }
}
