//! Helpers shared by the store's tests: a store in a temporary directory, batch builders and
//! the "storage" workload of the performance brief.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

use super::{
    AppliedMark, BatchKey, LabelSet, MatchOp, Matcher, SeriesSamples, SeriesWrite, ShardId, Tsdb,
    TsdbOptions, WriteBatch,
};
use crate::chunk::Sample;

pub(crate) fn open(dir: &TempDir) -> Tsdb {
    Tsdb::open(&dir.path().join("tsdb"), TsdbOptions::default()).unwrap()
}

pub(crate) fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied()).unwrap()
}

pub(crate) fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> SeriesWrite {
    SeriesWrite {
        labels: labels(pairs),
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
    }
}

pub(crate) fn batch(series: Vec<SeriesWrite>) -> WriteBatch {
    WriteBatch {
        tenant: "t".into(),
        identity: None,
        series,
    }
}

pub(crate) fn identified(
    agent: &str,
    queue: u32,
    first: u64,
    last: u64,
    series: Vec<SeriesWrite>,
) -> WriteBatch {
    WriteBatch {
        identity: Some(BatchKey {
            agent: agent.into(),
            queue,
            first,
            last,
        }),
        ..batch(series)
    }
}

pub(crate) fn mark(index: u64) -> AppliedMark {
    AppliedMark {
        index,
        payload: format!("log {index}").into_bytes(),
    }
}

pub(crate) fn matcher(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

/// Everything of tenant "t" on `shard`.
pub(crate) fn everything(store: &Tsdb, shard: ShardId) -> Vec<SeriesSamples> {
    store.select(shard, "t", &[], i64::MIN, i64::MAX).unwrap()
}

/// Start of the workload: aligned to a two-hour partition.
pub(crate) const WORKLOAD_START: i64 = 1_763_683_200_000;

/// The "storage" workload: `series` series with 6 labels (`__name__` from 50 names, cluster,
/// instance, job, pod, zone), half counters growing by 0..100 per scrape, half gauges on a
/// two-decimal random walk, one sample per series per round, rounds 15 s apart. Returns one
/// batch per round.
pub(crate) fn workload(series: usize, rounds: usize) -> Vec<WriteBatch> {
    let mut rng = StdRng::seed_from_u64(15);
    let label_sets: Vec<LabelSet> = (0..series)
        .map(|i| {
            let name = format!("metric_{}_total", i % 50);
            let pod = format!("pod-{}", i / 50);
            let zone = ["zone-a", "zone-b", "zone-c"][(i / 50) % 3];
            let cluster = format!("cluster-{}", i % 4);
            LabelSet::from_pairs([
                ("__name__", name.as_str()),
                ("cluster", cluster.as_str()),
                ("instance", "10.0.0.1:9100"),
                ("job", "synthetic"),
                ("pod", pod.as_str()),
                ("zone", zone),
            ])
            .unwrap()
        })
        .collect();
    let mut values: Vec<f64> = (0..series)
        .map(|i| {
            if i % 2 == 0 {
                f64::from(rng.random_range(0..1_000_000u32))
            } else {
                (rng.random_range(0.0..1000.0f64) * 100.0).round() / 100.0
            }
        })
        .collect();
    (0..rounds as i64)
        .map(|round| {
            let t = WORKLOAD_START + round * 15_000;
            let series = label_sets
                .iter()
                .zip(values.iter_mut())
                .enumerate()
                .map(|(i, (labels, v))| {
                    *v = if i % 2 == 0 {
                        *v + f64::from(rng.random_range(0..100u32))
                    } else {
                        let step = f64::from(rng.random_range(-500..=500i32)) / 100.0;
                        ((*v + step).max(0.0) * 100.0).round() / 100.0
                    };
                    SeriesWrite {
                        labels: labels.clone(),
                        samples: vec![Sample { t, v: *v }],
                    }
                })
                .collect();
            batch(series)
        })
        .collect()
}

/// Loads `batches` into a fresh store, flushes and compacts it, and returns the store with its
/// bytes of SST files per sample.
pub(crate) fn bytes_per_sample(dir: &TempDir, batches: &[WriteBatch]) -> (Tsdb, f64) {
    let mut store = open(dir);
    let mut samples = 0u64;
    for (i, b) in batches.iter().enumerate() {
        let outcome = store.apply(1, &mark(i as u64 + 1), b).unwrap();
        assert_eq!(outcome.rejected(), 0);
        samples += outcome.samples_appended;
    }
    store.flush_head(1).unwrap();
    store.compact().unwrap();
    let bytes = store.sst_bytes().unwrap();
    (store, bytes as f64 / samples as f64)
}
