//! A write load of identified batches, sent like agents send them, and the exact check of what
//! the cluster then holds.
//!
//! Each writer plays one agent (`agent = <prefix>-<w>`, queue 0) owning `series_per_writer`
//! series (`{__name__=<metric>, writer="<w>", series="<s>"}`). Its batch number `k` (from 1)
//! carries one sample per series at `base_ms + k` with value `k`, under the identity
//! `<agent>/0/k-k`. Like an agent, a writer retries a batch until it is acknowledged, with the
//! same identity, on any non-2xx answer or transport error; unlike an agent pinned to one URL it
//! moves to the next node on each retry, so a killed node does not stall it. A writer finishes
//! the batch it is on when told to stop, so every batch it started is acknowledged: the cluster
//! must then hold, per series, exactly the timestamps `base_ms + 1 ..= base_ms + acked`, once
//! each, with their values ([`LoadReport::verify`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use skyview_api::remote_write::BatchId;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::remote_write_client::{
    now_ms, time_series, write_request, RemoteWriteClient, StoredSeries, WriteOptions,
};

/// How long one batch may take to be acknowledged, retries included, before the load fails:
/// far above a leader election, so hitting it is a liveness bug.
const BATCH_DEADLINE: Duration = Duration::from_secs(60);
/// Pause between attempts of a refused batch (an agent backs off from 30 ms).
const RETRY_PAUSE: Duration = Duration::from_millis(30);

/// The shape of a load.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The metric name of every series of the load.
    pub metric: String,
    /// Agent ids are `<agent_prefix>-<w>`.
    pub agent_prefix: String,
    pub writers: usize,
    pub series_per_writer: usize,
    /// Pause between a writer's acknowledged batch and its next one (zero: back to back).
    pub pause: Duration,
}

/// What one writer did.
#[derive(Clone, Debug, Default)]
pub struct WriterReport {
    /// Batches acknowledged: batch numbers `1..=acked`.
    pub acked: u64,
    /// Attempts that were not acknowledged (later retried).
    pub refused: u64,
    /// How many answers of each HTTP status the writer got; 0 counts transport errors.
    pub statuses: BTreeMap<u16, u64>,
}

/// A load in progress.
#[derive(Debug)]
pub struct RunningLoad {
    spec: LoadSpec,
    base_ms: i64,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    writers: Vec<JoinHandle<Result<WriterReport>>>,
}

/// What a stopped load sent, every batch of it acknowledged.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub spec: LoadSpec,
    pub base_ms: i64,
    pub writers: Vec<WriterReport>,
}

impl LoadSpec {
    /// The labels of series `series` of writer `writer`, sorted by name.
    pub fn labels(&self, writer: usize, series: usize) -> Vec<(String, String)> {
        vec![
            ("__name__".to_owned(), self.metric.clone()),
            ("series".to_owned(), series.to_string()),
            ("writer".to_owned(), writer.to_string()),
        ]
    }

    /// Starts the writers; each sends to `urls[(writer + attempt) % urls.len()]`.
    pub fn start(&self, urls: Vec<String>) -> Result<RunningLoad> {
        ensure!(!urls.is_empty(), "a load needs at least one node URL");
        let client = RemoteWriteClient::new()?;
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        // One millisecond before the first batch: batch k's samples are at base_ms + k.
        let base_ms = now_ms();
        let urls = Arc::new(urls);
        let writers = (0..self.writers)
            .map(|writer| {
                let job = Writer {
                    spec: self.clone(),
                    writer,
                    base_ms,
                    urls: Arc::clone(&urls),
                    client: client.clone(),
                    stop: Arc::clone(&stop),
                    acked: Arc::clone(&acked),
                };
                tokio::spawn(job.run())
            })
            .collect();
        Ok(RunningLoad {
            spec: self.clone(),
            base_ms,
            stop,
            acked,
            writers,
        })
    }
}

impl RunningLoad {
    /// Batches acknowledged so far, all writers together.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Tells the writers to stop after their current batch and waits for them.
    pub async fn stop(self) -> Result<LoadReport> {
        self.stop.store(true, Ordering::SeqCst);
        let mut writers = Vec::with_capacity(self.writers.len());
        for handle in self.writers {
            writers.push(handle.await.context("a writer task panicked")??);
        }
        Ok(LoadReport {
            spec: self.spec,
            base_ms: self.base_ms,
            writers,
        })
    }
}

struct Writer {
    spec: LoadSpec,
    writer: usize,
    base_ms: i64,
    urls: Arc<Vec<String>>,
    client: RemoteWriteClient,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
}

impl Writer {
    async fn run(self) -> Result<WriterReport> {
        let mut report = WriterReport::default();
        let mut attempt = 0usize;
        let agent = format!("{}-{}", self.spec.agent_prefix, self.writer);
        for batch in 1u64.. {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let identity = BatchId::new(agent.as_str(), 0, batch, batch)?;
            let timestamp = self.base_ms + i64::try_from(batch)?;
            let series = (0..self.spec.series_per_writer)
                .map(|s| {
                    let labels = self.spec.labels(self.writer, s);
                    let labels: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    time_series(&labels, &[(timestamp, batch as f64)])
                })
                .collect();
            let request = write_request(series);
            let deadline = Instant::now() + BATCH_DEADLINE;
            loop {
                let url = &self.urls[(self.writer + attempt) % self.urls.len()];
                let options = WriteOptions {
                    identity: Some(&identity),
                    tenant: None,
                };
                let status = match self.client.write(url, &request, options).await {
                    Ok(reply) if reply.is_success() => {
                        *report.statuses.entry(reply.status).or_default() += 1;
                        break;
                    }
                    Ok(reply) if (400..500).contains(&reply.status) && reply.status != 429 => {
                        bail!(
                            "{agent}: batch {batch} refused for good by {url}: HTTP {}: {}",
                            reply.status,
                            reply.body
                        )
                    }
                    Ok(reply) => reply.status,
                    Err(_) => 0,
                };
                *report.statuses.entry(status).or_default() += 1;
                report.refused += 1;
                attempt += 1;
                if Instant::now() >= deadline {
                    bail!(
                        "{agent}: batch {batch} not acknowledged within {BATCH_DEADLINE:?} \
                         (answers so far: {:?})",
                        report.statuses
                    );
                }
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            report.acked = batch;
            self.acked.fetch_add(1, Ordering::SeqCst);
            if !self.spec.pause.is_zero() {
                tokio::time::sleep(self.spec.pause).await;
            }
        }
        Ok(report)
    }
}

impl LoadReport {
    /// Acknowledged samples, all series together.
    pub fn acked_samples(&self) -> u64 {
        self.writers.iter().map(|w| w.acked).sum::<u64>() * self.spec.series_per_writer as u64
    }

    /// Attempts that had to be retried, all writers together.
    pub fn refused(&self) -> u64 {
        self.writers.iter().map(|w| w.refused).sum()
    }

    /// Reads the load's series back through `url` and checks that each holds exactly the
    /// acknowledged batches: no sample missing, none duplicated, none foreign, values intact.
    pub async fn verify(&self, client: &RemoteWriteClient, url: &str) -> Result<()> {
        let selector = format!("{{__name__=\"{}\"}}", self.spec.metric);
        let stored = client
            .select(url, &selector, self.base_ms, now_ms() + 60_000, None)
            .await?;
        self.check(&stored)
    }

    /// The check of [`Self::verify`] on series already read.
    pub fn check(&self, stored: &[StoredSeries]) -> Result<()> {
        let mut by_labels: BTreeMap<Vec<(String, String)>, &StoredSeries> = BTreeMap::new();
        for series in stored {
            let labels: Vec<(String, String)> = series.labels.clone().into_iter().collect();
            ensure!(
                by_labels.insert(labels, series).is_none(),
                "series {:?} returned twice",
                series.labels
            );
        }
        let expected_series = self.writers.len() * self.spec.series_per_writer;
        let mut defects = Vec::new();
        for (w, report) in self.writers.iter().enumerate() {
            for s in 0..self.spec.series_per_writer {
                let labels = self.spec.labels(w, s);
                let samples = by_labels
                    .get(&labels)
                    .map_or(&[][..], |series| &series.samples);
                if let Some(defect) = self.defect(samples, report.acked) {
                    defects.push(format!("writer {w} series {s}: {defect}"));
                }
            }
        }
        if !defects.is_empty() {
            bail!(
                "{} of {expected_series} series differ from what was acknowledged:\n{}",
                defects.len(),
                defects.join("\n")
            );
        }
        ensure!(
            by_labels.len() == expected_series,
            "{} series stored, {expected_series} written",
            by_labels.len()
        );
        Ok(())
    }

    /// What is wrong with one series' samples, given its writer acknowledged `acked` batches.
    fn defect(&self, samples: &[(i64, f64)], acked: u64) -> Option<String> {
        let mut seen = vec![0u32; acked as usize + 1];
        let mut foreign = Vec::new();
        for &(t, v) in samples {
            let batch = t - self.base_ms;
            match usize::try_from(batch) {
                Ok(k) if (1..=acked as usize).contains(&k) && v == k as f64 => seen[k] += 1,
                _ => foreign.push((t, v)),
            }
        }
        let missing: Vec<usize> = (1..seen.len()).filter(|&k| seen[k] == 0).collect();
        let duplicated: Vec<usize> = (1..seen.len()).filter(|&k| seen[k] > 1).collect();
        if missing.is_empty() && duplicated.is_empty() && foreign.is_empty() {
            return None;
        }
        Some(format!(
            "{} samples for {acked} acknowledged batches; missing batches {missing:?}, \
             duplicated {duplicated:?}, foreign (t, v) {foreign:?}",
            samples.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(acked: u64) -> LoadReport {
        LoadReport {
            spec: LoadSpec {
                metric: "m".into(),
                agent_prefix: "a".into(),
                writers: 1,
                series_per_writer: 2,
                pause: Duration::ZERO,
            },
            base_ms: 1_000,
            writers: vec![WriterReport {
                acked,
                ..WriterReport::default()
            }],
        }
    }

    fn stored(series: usize, samples: Vec<(i64, f64)>) -> StoredSeries {
        StoredSeries {
            labels: report(0).spec.labels(0, series).into_iter().collect(),
            samples,
        }
    }

    #[test]
    fn accepts_exactly_the_acknowledged_batches() {
        let full = vec![(1_001, 1.0), (1_002, 2.0), (1_003, 3.0)];
        let ok = [stored(0, full.clone()), stored(1, full)];
        report(3).check(&ok).unwrap();
    }

    #[test]
    fn names_missing_duplicated_and_foreign_samples() {
        let good = stored(0, vec![(1_001, 1.0), (1_002, 2.0), (1_003, 3.0)]);
        let bad = stored(1, vec![(1_001, 1.0), (1_001, 1.0), (1_009, 9.0)]);
        let err = report(3)
            .check(&[good.clone(), bad])
            .unwrap_err()
            .to_string();
        assert!(err.contains("writer 0 series 1"), "{err}");
        assert!(err.contains("missing batches [2, 3]"), "{err}");
        assert!(err.contains("duplicated [1]"), "{err}");
        assert!(err.contains("(1009, 9.0)"), "{err}");
        let err = report(3).check(&[good]).unwrap_err().to_string();
        assert!(err.contains("missing batches [1, 2, 3]"), "{err}");
    }
}
