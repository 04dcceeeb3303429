//! Loading the data set into both systems: the very same remote-write bodies, oldest first.
//!
//! The data set is cut into requests of `series_per_request` series times `slots_per_request`
//! samples each. Request `i` covers group `i mod groups` of series in time slice
//! `i / groups`, so requests go out slice by slice, oldest first; request `i + groups` (the
//! same series, the next slice) is only sent once request `i` is acknowledged by both systems,
//! since Prometheus 2.42 refuses a sample older than its series' newest. Each body is encoded
//! once and posted to Prometheus and to one Skyview node (nodes in turn) at the same time.
//!
//! Retries follow the remote-write spec: a 5xx, a 429 or a transport error is retried with
//! exponential backoff (on the next Skyview node); any other status fails the run with the
//! system's message.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use skyview_api::remote_write::encode_write_request;
use skyview_tests::remote_write_client::RemoteWriteClient;
use tokio::task::JoinSet;

use crate::data::DataSet;

/// How the data set is cut into requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    pub series_per_request: usize,
    pub slots_per_request: i64,
}

impl Batching {
    /// Requests per time slice.
    pub fn groups(&self, series: usize) -> usize {
        series.div_ceil(self.series_per_request.max(1))
    }

    /// Requests in all.
    pub fn requests(&self, series: usize, samples_per_series: i64) -> usize {
        let slots = self.slots_per_request.max(1) as usize;
        self.groups(series) * (samples_per_series.max(0) as usize).div_ceil(slots)
    }

    /// The series and slots of request `index`.
    pub fn ranges(&self, index: usize, series: usize) -> (Range<usize>, Range<i64>) {
        let (per_request, slots) = (
            self.series_per_request.max(1),
            self.slots_per_request.max(1),
        );
        let groups = self.groups(series).max(1);
        let (slice, group) = ((index / groups) as i64, index % groups);
        let first = group * per_request;
        (
            first..(first + per_request).min(series),
            slice * slots..(slice + 1) * slots,
        )
    }
}

/// What loading took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadOutcome {
    pub requests: usize,
    pub samples: u64,
    pub elapsed: Duration,
    /// Attempts that had to be retried, both systems together.
    pub retries: u32,
}

/// Sends the whole data set to both systems (base URLs: `prometheus`, and every Skyview node
/// in `skyview`), at most `in_flight` requests at once.
pub async fn load_both(
    client: &RemoteWriteClient,
    data: &Arc<DataSet>,
    (prometheus, skyview): (&str, &[String]),
    batching: Batching,
    in_flight: usize,
) -> Result<LoadOutcome> {
    if skyview.is_empty() || in_flight == 0 {
        bail!("loading needs a Skyview node and at least one request in flight");
    }
    let series = data.series_count();
    let groups = batching.groups(series);
    let total = batching.requests(series, data.samples_per_series());
    let prometheus: Arc<[String]> = vec![prometheus.to_owned()].into();
    let skyview: Arc<[String]> = skyview.into();
    let mut done = vec![false; total];
    let mut tasks = JoinSet::new();
    let (mut next, mut retries, mut samples) = (0, 0, 0);
    let start = Instant::now();
    loop {
        while tasks.len() < in_flight && next < total && (next < groups || done[next - groups]) {
            let (client, data) = (client.clone(), data.clone());
            let (prometheus, skyview) = (prometheus.clone(), skyview.clone());
            let index = next;
            tasks.spawn(async move {
                let (series, slots) = batching.ranges(index, data.series_count());
                let request = data.request(series, slots);
                let count: u64 = request
                    .timeseries
                    .iter()
                    .map(|s| s.samples.len() as u64)
                    .sum();
                let body = Bytes::from(
                    encode_write_request(&request).context("encoding a write request")?,
                );
                let (to_prometheus, to_skyview) = tokio::join!(
                    client.deliver_with_retries(&prometheus, index, body.clone()),
                    client.deliver_with_retries(&skyview, index, body)
                );
                let retries = to_prometheus
                    .with_context(|| format!("Prometheus, request {index}"))?
                    + to_skyview.with_context(|| format!("Skyview, request {index}"))?;
                anyhow::Ok((index, retries, count))
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, request_retries, count) = joined.context("a sending task panicked")??;
        done[index] = true;
        retries += request_retries;
        samples += count;
    }
    Ok(LoadOutcome {
        requests: total,
        samples,
        elapsed: start.elapsed(),
        retries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cover_every_series_slot_once_in_time_order_per_series() {
        let batching = Batching {
            series_per_request: 3,
            slots_per_request: 4,
        };
        let (series, samples) = (10, 11);
        let total = batching.requests(series, samples);
        assert_eq!(total, 4 * 3);
        let mut seen = vec![Vec::new(); series];
        for index in 0..total {
            let (s, slots) = batching.ranges(index, series);
            for k in s {
                seen[k].extend(slots.start..slots.end.min(samples));
            }
        }
        for slots in seen {
            assert_eq!(slots, (0..samples).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_same_series_come_back_one_round_of_groups_later() {
        let batching = Batching {
            series_per_request: 2_000,
            slots_per_request: 20,
        };
        let groups = batching.groups(11_250);
        assert_eq!(groups, 6);
        let (a, slots_a) = batching.ranges(2, 11_250);
        let (b, slots_b) = batching.ranges(2 + groups, 11_250);
        assert_eq!(a, 4_000..6_000);
        assert_eq!(b, 4_000..6_000);
        assert_eq!((slots_a, slots_b), (0..20, 20..40));
        assert_eq!(batching.ranges(5, 11_250).0, 10_000..11_250);
    }
}
