//! Counting what a system stored, through its own query API, after a phase.
//!
//! One query per metric name: PromQL's `count_over_time` drops the name, and the 50 metrics of
//! a target share every other label, so a single query over all names would give Prometheus a
//! result with repeated label sets, which it refuses. Per name, `sum(count_over_time(..))`
//! counts every stored sample (a duplicate `(series, t)` cannot exist in either Go TSDB).
//! Skyview is read through `/api/v1/internal/select`, which returns raw samples: there a
//! duplicate would be visible and is counted as a second sample, so "stored == sent" also
//! checks exactly-once storage.

use anyhow::{ensure, Result};
use skyview_tests::promql::PromQl;
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient};

use crate::workload::metric_names;

/// The time range of the samples a phase sent, inclusive, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Samples stored under the workload's metric names, counted with PromQL at the server's
/// present, over a window reaching back past `range.start_ms`.
pub async fn count_with_promql(promql: &PromQl, range: SentRange) -> Result<u64> {
    let window_s = (now_ms() - range.start_ms) / 1000 + 60;
    let mut total = 0.0;
    for name in metric_names() {
        total += promql
            .query_count(&format!("sum(count_over_time({name}[{window_s}s]))"))
            .await?;
    }
    ensure!(
        total >= 0.0 && total.fract() == 0.0,
        "a sample count of {total}"
    );
    Ok(total as u64)
}

/// Samples stored under the workload's metric names in `range`, read raw from Skyview, one
/// metric name per request, spread over `endpoints`.
pub async fn count_with_select(
    client: &RemoteWriteClient,
    endpoints: &[String],
    range: SentRange,
) -> Result<u64> {
    ensure!(!endpoints.is_empty(), "no endpoint to read from");
    let mut total = 0;
    for (i, name) in metric_names().enumerate() {
        let endpoint = &endpoints[i % endpoints.len()];
        let selector = format!("{{__name__=\"{name}\"}}");
        let series = client
            .select(endpoint, &selector, range.start_ms, range.end_ms, None)
            .await?;
        total += series.iter().map(|s| s.samples.len() as u64).sum::<u64>();
    }
    Ok(total)
}
