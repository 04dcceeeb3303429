//! Before anything is timed, both systems must hold the whole data set: a benchmark over
//! missing data would time the wrong work and report a meaningless ratio.
//!
//! Counted through each system's own query API: the series of every metric (`count(..)` at the
//! last slot, inside the lookback of every series) and every sample of it
//! (`sum(count_over_time(..[window]))` just after the newest sample). One query per metric
//! name, since `count_over_time` drops the name and would give Prometheus repeated label sets.
//! Skyview acknowledges a write once it is committed; the counts are polled until they are
//! right or [`DATA_TIMEOUT`] passes, and the error then names the system, the query, the
//! count it gave and the one expected.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use skyview_tests::promql_compat::{summary, ApiRequest, Outcome, QueryClient, ResultData};
use skyview_tests::wait::wait_until;

use crate::data::{DataSet, BUCKET, COUNTER, INFO, INTERVAL_MS};

/// How long a system may take to show every sample once they were all acknowledged.
const DATA_TIMEOUT: Duration = Duration::from_secs(120);

/// An instant query and the single value it must give.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub expr: String,
    pub time_ms: i64,
    pub value: f64,
}

/// The counts the loaded data set must give.
pub fn expectations(data: &DataSet) -> Vec<Expectation> {
    // Just after the newest sample (each is less than one interval after the last slot), with
    // a window reaching back past the first one.
    let after_all_ms = data.end_ms() + INTERVAL_MS;
    let window_s = (after_all_ms - data.start_ms()) / 1000 + 60;
    let samples = data.samples_per_series() as f64;
    [
        (COUNTER, data.counters()),
        (BUCKET, data.buckets()),
        (INFO, data.instances()),
    ]
    .into_iter()
    .flat_map(|(name, series)| {
        [
            Expectation {
                expr: format!("count({name})"),
                time_ms: data.end_ms(),
                value: series as f64,
            },
            Expectation {
                expr: format!("sum(count_over_time({name}[{window_s}s]))"),
                time_ms: after_all_ms,
                value: series as f64 * samples,
            },
        ]
    })
    .collect()
}

/// Waits until `system` at `base` gives every expected count.
pub async fn wait_for_data(
    client: &QueryClient,
    system: &str,
    base: &str,
    expected: &[Expectation],
) -> Result<()> {
    wait_until(
        &format!("{system} to hold the whole data set"),
        DATA_TIMEOUT,
        || async move {
            for e in expected {
                let outcome = client
                    .call(base, &ApiRequest::instant(&e.expr, e.time_ms))
                    .await;
                let got = single_value(&outcome)?;
                if got != e.value {
                    return Err(anyhow!(
                        "{system} answers {got} to `{}`, expected {}",
                        e.expr,
                        e.value
                    ));
                }
            }
            Ok(Some(()))
        },
    )
    .await
}

/// The value of a one-element vector (0 for an empty one, which is what `count` of nothing
/// gives).
fn single_value(outcome: &Outcome) -> Result<f64> {
    match outcome {
        Outcome::Data(ResultData::Vector(v)) if v.is_empty() => Ok(0.0),
        Outcome::Data(ResultData::Vector(v)) if v.len() == 1 => Ok(v[0].point.v),
        other => bail!("not a single value: {}", summary(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expects_every_series_and_sample_of_each_metric() {
        let data = DataSet::new(10_000, 241, 1_700_000_000_000);
        let expected = expectations(&data);
        assert_eq!(expected.len(), 6);
        assert_eq!(expected[0].expr, "count(http_requests_total)");
        assert_eq!(expected[0].value, 10_000.0);
        assert_eq!(expected[1].value, 10_000.0 * 241.0);
        assert_eq!(expected[3].value, 800.0 * 241.0);
        assert_eq!(expected[5].value, 250.0 * 241.0);
        // The window reaches back past the first sample.
        let window_ms = 3_600_000 + INTERVAL_MS + 60_000;
        assert_eq!(
            expected[1].expr,
            format!(
                "sum(count_over_time(http_requests_total[{}s]))",
                window_ms / 1000
            )
        );
        assert!(expected[1].time_ms - window_ms < data.start_ms());
    }
}
