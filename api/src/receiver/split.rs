//! Turning one decoded remote-write request into one Raft write batch per shard.
//!
//! Every series is validated before any batch is built, so a request is either refused whole
//! or proposed whole. Each series goes to `shard_of(tenant, labels, shards)`, computed on the
//! labels as stored (empty values dropped), which is what makes the placement of a series the
//! same whichever node takes the request. Every shard's part carries the request's batch
//! identity: each shard deduplicates its own part (I2).

use skyview_raft::sharding::shard_of;
use skyview_raft::write_batch::{BatchIdentity, WriteBatch};

use super::limits::ReceiverLimits;
use super::validate::{validate_series, InvalidSeries};
use crate::remote_write::WriteRequest;

/// A request split by shard, ready to propose.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardedWrite {
    /// `(shard, batch)` for every shard that has at least one sample, by shard.
    pub batches: Vec<(u32, WriteBatch)>,
    /// Samples in the request (all shards).
    pub samples: u64,
}

/// Validates and splits `request`. `shards` is the cluster's shard count (at least 1).
pub fn split_by_shard(
    request: WriteRequest,
    tenant: &str,
    identity: Option<BatchIdentity>,
    shards: u32,
    limits: &ReceiverLimits,
    now_ms: i64,
) -> Result<ShardedWrite, InvalidSeries> {
    let mut per_shard: Vec<Vec<_>> = vec![Vec::new(); shards as usize];
    let mut samples = 0u64;
    for series in request.timeseries {
        let series = validate_series(series, limits, now_ms)?;
        if series.samples.is_empty() {
            continue;
        }
        samples += series.samples.len() as u64;
        let shard = shard_of(tenant, &series.labels, shards);
        per_shard[(shard - 1) as usize].push(series);
    }
    let batches = per_shard
        .into_iter()
        .zip(1..)
        .filter(|(series, _)| !series.is_empty())
        .map(|(series, shard)| {
            let batch = WriteBatch {
                tenant: tenant.to_owned(),
                identity: identity.clone(),
                series,
            };
            (shard, batch)
        })
        .collect();
    Ok(ShardedWrite { batches, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write::{Label, Sample, TimeSeries};

    const NOW: i64 = 1_700_000_000_000;

    fn series(job: &str, samples: usize) -> TimeSeries {
        TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "up".into(),
                },
                Label {
                    name: "job".into(),
                    value: job.into(),
                },
            ],
            samples: (0..samples)
                .map(|i| Sample {
                    value: 1.0,
                    timestamp: NOW - i as i64,
                })
                .collect(),
        }
    }

    #[test]
    fn places_each_series_on_its_shard_and_skips_empty_ones() {
        let request = WriteRequest {
            timeseries: (0..50).map(|i| series(&format!("j{i}"), i % 3)).collect(),
            metadata: vec![],
        };
        let identity = BatchIdentity {
            agent: "edge".into(),
            queue: 2,
            first: 10,
            last: 20,
        };
        let split = split_by_shard(
            request,
            "acme",
            Some(identity.clone()),
            4,
            &ReceiverLimits::default(),
            NOW,
        )
        .unwrap();
        let expected: u64 = (0..50u64).map(|i| i % 3).sum();
        assert_eq!(split.samples, expected);
        let mut seen = 0;
        let mut last_shard = 0;
        for (shard, batch) in &split.batches {
            assert!(*shard > last_shard && *shard <= 4, "shards ascend in 1..=4");
            last_shard = *shard;
            assert_eq!(batch.tenant, "acme");
            assert_eq!(batch.identity.as_ref(), Some(&identity));
            for s in &batch.series {
                assert!(!s.samples.is_empty());
                assert_eq!(shard_of("acme", &s.labels, 4), *shard);
                seen += s.samples.len() as u64;
            }
        }
        assert_eq!(seen, expected);
        assert!(split.batches.len() > 1, "50 series spread over shards");
    }

    #[test]
    fn one_invalid_series_refuses_the_whole_request() {
        let mut bad = series("x", 1);
        bad.labels.reverse();
        let request = WriteRequest {
            timeseries: vec![series("a", 1), bad, series("b", 1)],
            metadata: vec![],
        };
        let err = split_by_shard(request, "t", None, 4, &ReceiverLimits::default(), NOW)
            .expect_err("unsorted labels");
        assert!(err.to_string().contains("not sorted"), "{err}");
    }
}
