//! The failover measurement: a 3-node RF=3 Skyview cluster under a steady identified write
//! load; kill -9 the leader of one shard; how long until writes succeed again, and whether any
//! acknowledged sample was lost.
//!
//! The load is a set of queues shaped like the agent's shipper: each queue owns a slice of the
//! series and sends one round of it at a fixed period, with the batch identity
//! `bench-failover/<queue>/<round>-<round>`, retrying a failed or timed-out attempt with the same
//! identity (on the next node) until it is acknowledged, and only then moving to the next
//! round. A slice holds enough series to touch every shard, so every request touches the shard
//! whose leader is killed. Timestamps follow the wall clock (one round per period).
//!
//! A trial: let the load run, find the shard's leader from the cluster status, SIGKILL it,
//! and measure from the kill to the first acknowledged attempt started after it. Attempts
//! time out after [`ATTEMPT_TIMEOUT`], so a request stuck on the dead node does not hide a
//! recovery. Then the node is restarted and the cluster waited on until fully led again.
//!
//! After the trials the load stops, and every sample of every acknowledged round is read back
//! through `/api/v1/internal/select` and compared with the regenerated values: missing ones are
//! acknowledged samples lost, repeated timestamps are duplicates.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use skyview_api::remote_write::{encode_write_request, BatchId};
use skyview_tests::receiver::{ReceiverCluster, ReceiverOptions};
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient, WriteOptions};
use skyview_tests::wait::wait_until;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::report::Table;
use crate::workload::{metric_names, series_labels, Slice};

/// The agent id of the load's batch identities.
const AGENT: &str = "bench-failover";
/// An attempt not answered within this is abandoned (its outcome is unknown) and retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(250);
/// How long a restarted cluster may take to have a leader for every group again.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the queues may take to get their last round acknowledged once asked to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// The failover measurement's parameters.
#[derive(Clone, Debug)]
pub struct FailoverOptions {
    pub shards: u32,
    /// Series in all, split evenly over the queues.
    pub series: usize,
    pub queues: u32,
    /// Each queue sends one round per period.
    pub period: Duration,
    pub trials: u32,
    /// Load time before each kill, and after each recovery.
    pub settle: Duration,
    pub seed: u64,
}

/// One send attempt of the load.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    start: Instant,
    end: Instant,
    acknowledged: bool,
}

/// One trial's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub shard: u32,
    pub killed_node: u64,
    /// From the kill to the first acknowledged write started after it.
    pub recovery: Duration,
}

/// The measurement's result.
#[derive(Clone, Debug, PartialEq)]
pub struct FailoverResult {
    pub trials: Vec<Trial>,
    pub samples_acknowledged: u64,
    pub samples_lost: u64,
    pub samples_duplicated: u64,
    /// Stored samples whose value differs from what was sent.
    pub samples_wrong: u64,
    pub attempts_failed: u64,
}

impl FailoverResult {
    /// Nearest-rank percentile of the recovery times (`q` in 0..=1).
    pub fn recovery_percentile(&self, q: f64) -> Option<Duration> {
        let mut times: Vec<Duration> = self.trials.iter().map(|t| t.recovery).collect();
        times.sort();
        let rank = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len().max(1));
        times.get(rank - 1).copied()
    }

    pub fn table(&self) -> Table {
        let ms =
            |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), |d| d.as_millis().to_string());
        let each: Vec<String> = self
            .trials
            .iter()
            .map(|t| {
                format!(
                    "{} (shard {}, node {})",
                    t.recovery.as_millis(),
                    t.shard,
                    t.killed_node
                )
            })
            .collect();
        Table {
            headers: ["figure", "value"].map(str::to_owned).to_vec(),
            rows: vec![
                vec!["trials".to_owned(), self.trials.len().to_string()],
                vec![
                    "writes resume, p50 (ms)".to_owned(),
                    ms(self.recovery_percentile(0.5)),
                ],
                vec![
                    "writes resume, p99 (ms)".to_owned(),
                    ms(self.recovery_percentile(0.99)),
                ],
                vec!["writes resume, each trial (ms)".to_owned(), each.join(", ")],
                vec![
                    "acknowledged samples".to_owned(),
                    self.samples_acknowledged.to_string(),
                ],
                vec![
                    "acknowledged samples lost".to_owned(),
                    self.samples_lost.to_string(),
                ],
                vec![
                    "samples stored twice".to_owned(),
                    self.samples_duplicated.to_string(),
                ],
                vec![
                    "samples with a wrong value".to_owned(),
                    self.samples_wrong.to_string(),
                ],
                vec![
                    "failed or timed-out attempts (retried)".to_owned(),
                    self.attempts_failed.to_string(),
                ],
            ],
        }
    }
}

/// What the queues share with the measurement.
#[derive(Debug, Default)]
struct LoadState {
    attempts: Mutex<Vec<Attempt>>,
    stop: AtomicBool,
}

impl LoadState {
    fn record(&self, attempt: Attempt) {
        self.attempts
            .lock()
            .expect("the attempt log is never poisoned: no code panics while holding it")
            .push(attempt);
    }

    /// The end of the first acknowledged attempt started at or after `since`.
    fn first_ack_since(&self, since: Instant) -> Option<Instant> {
        self.attempts
            .lock()
            .expect("the attempt log is never poisoned")
            .iter()
            .filter(|a| a.acknowledged && a.start >= since)
            .map(|a| a.end)
            .min()
    }

    fn failed_attempts(&self) -> u64 {
        self.attempts
            .lock()
            .expect("the attempt log is never poisoned")
            .iter()
            .filter(|a| !a.acknowledged)
            .count() as u64
    }
}

/// Runs the measurement in a fresh cluster under `dir`.
pub async fn run(dir: &Path, options: &FailoverOptions) -> Result<FailoverResult> {
    if options.queues == 0 || options.series < options.queues as usize || options.trials == 0 {
        bail!("the failover load needs queues, at least one series per queue, and trials");
    }
    let mut cluster =
        ReceiverCluster::start_in(dir, ReceiverOptions::new(3, options.shards, 3)).await?;
    let client = RemoteWriteClient::new()?;
    let state = Arc::new(LoadState::default());
    let per_queue = options.series / options.queues as usize;
    let base_ms = now_ms();
    let period_ms = i64::try_from(options.period.as_millis())
        .context("period")?
        .max(1);

    let endpoints: Arc<[String]> = cluster.urls().into();
    let mut queues = JoinSet::new();
    for queue in 0..options.queues {
        let slice = Slice::new(
            queue as usize * per_queue,
            per_queue,
            options.seed,
            base_ms,
            period_ms,
        );
        let (client, endpoints, state, period) = (
            client.clone(),
            endpoints.clone(),
            state.clone(),
            options.period,
        );
        queues.spawn(
            async move { run_queue(queue, slice, &client, &endpoints, &state, period).await },
        );
    }

    let mut trials = Vec::new();
    for trial in 0..options.trials {
        tokio::time::sleep(options.settle).await;
        let shard = trial % options.shards + 1;
        let leader = cluster
            .shard_leader(shard)
            .await?
            .with_context(|| format!("shard {shard} has no leader before trial {trial}"))?;
        let killed_at = Instant::now();
        cluster.kill9(leader)?;
        let recovered = wait_until(
            &format!("a write to succeed after killing node {leader} (leader of shard {shard})"),
            RECOVERY_TIMEOUT,
            || {
                let found = state.first_ack_since(killed_at);
                async move { Ok(found) }
            },
        )
        .await?;
        let recovery = recovered - killed_at;
        eprintln!(
            "failover trial {trial}: killed node {leader} (leader of shard {shard}); writes resumed after {} ms",
            recovery.as_millis()
        );
        trials.push(Trial {
            shard,
            killed_node: leader,
            recovery,
        });
        cluster.restart(leader).await?;
        wait_until(
            "every group to have a leader again",
            RECOVERY_TIMEOUT,
            || {
                let status = cluster.status();
                async move { Ok(status.await?.fully_led().then_some(())) }
            },
        )
        .await?;
    }

    state.stop.store(true, Ordering::SeqCst);
    let mut rounds = vec![0u64; options.queues as usize];
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(joined) = queues.join_next().await {
            let (queue, acknowledged) = joined.context("a queue task panicked")??;
            rounds[queue as usize] = acknowledged;
        }
        anyhow::Ok(())
    })
    .await;
    match drained {
        Ok(result) => result?,
        Err(_) => bail!(
            "the load's queues did not get their last rounds acknowledged in {DRAIN_TIMEOUT:?}"
        ),
    }

    let check = verify(
        &client, &endpoints, options, per_queue, base_ms, period_ms, &rounds,
    )
    .await?;
    Ok(FailoverResult {
        trials,
        samples_acknowledged: check.expected,
        samples_lost: check.missing,
        samples_duplicated: check.duplicated,
        samples_wrong: check.wrong,
        attempts_failed: state.failed_attempts(),
    })
}

/// One queue: a round per period, each retried until acknowledged. Returns the queue and the
/// number of rounds acknowledged.
async fn run_queue(
    queue: u32,
    mut slice: Slice,
    client: &RemoteWriteClient,
    endpoints: &[String],
    state: &LoadState,
    period: Duration,
) -> Result<(u32, u64)> {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut attempt_number = queue as usize;
    while !state.stop.load(Ordering::SeqCst) {
        ticker.tick().await;
        let round = slice.rounds();
        let body = Bytes::from(encode_write_request(&slice.next_request())?);
        let identity = BatchId::new(AGENT, queue, round, round)?;
        let mut backoff = MIN_BACKOFF;
        loop {
            let endpoint = &endpoints[attempt_number % endpoints.len()];
            attempt_number += 1;
            let start = Instant::now();
            let options = WriteOptions {
                identity: Some(&identity),
                tenant: None,
            };
            let reply = tokio::time::timeout(
                ATTEMPT_TIMEOUT,
                client.post_body(endpoint, body.clone(), options),
            )
            .await;
            let acknowledged = match reply {
                Ok(Ok(reply)) if reply.is_success() => true,
                Ok(Ok(reply)) if reply.status == 429 || reply.status >= 500 => false,
                Ok(Ok(reply)) => bail!(
                    "queue {queue} round {round}: {endpoint} refused the write with {}: {}",
                    reply.status,
                    reply.body
                ),
                // A transport error (the node is dead) or a timeout: the outcome is unknown,
                // and the retry carries the same identity.
                Ok(Err(_)) | Err(_) => false,
            };
            state.record(Attempt {
                start,
                end: Instant::now(),
                acknowledged,
            });
            if acknowledged {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    Ok((queue, slice.rounds()))
}

/// The comparison of what was acknowledged with what is stored.
#[derive(Debug, Default)]
struct Check {
    expected: u64,
    missing: u64,
    duplicated: u64,
    wrong: u64,
}

/// Reads back every series and compares it with the regenerated acknowledged rounds.
async fn verify(
    client: &RemoteWriteClient,
    endpoints: &[String],
    options: &FailoverOptions,
    per_queue: usize,
    base_ms: i64,
    period_ms: i64,
    rounds: &[u64],
) -> Result<Check> {
    // Expected samples of every series, regenerated queue by queue.
    let mut expected: HashMap<usize, Vec<(i64, f64)>> = HashMap::new();
    for (queue, &acknowledged) in rounds.iter().enumerate() {
        let mut slice = Slice::new(
            queue * per_queue,
            per_queue,
            options.seed,
            base_ms,
            period_ms,
        );
        for _ in 0..acknowledged {
            for (offset, sample) in slice.next_samples().into_iter().enumerate() {
                expected
                    .entry(queue * per_queue + offset)
                    .or_default()
                    .push(sample);
            }
        }
    }
    let key_of = |labels: &mut dyn Iterator<Item = (String, String)>| {
        labels
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("\u{1}")
    };
    let index_of: HashMap<String, usize> = expected
        .keys()
        .map(|&i| {
            let key = key_of(&mut series_labels(i).into_iter().map(|l| (l.name, l.value)));
            (key, i)
        })
        .collect();

    let mut check = Check {
        expected: expected.values().map(|s| s.len() as u64).sum(),
        ..Check::default()
    };
    let end_ms = now_ms() + 60_000;
    let mut seen = vec![false; options.series];
    for (n, name) in metric_names().enumerate() {
        let endpoint = &endpoints[n % endpoints.len()];
        let stored = client
            .select(
                endpoint,
                &format!("{{__name__=\"{name}\"}}"),
                base_ms - 60_000,
                end_ms,
                None,
            )
            .await?;
        for series in stored {
            let key = key_of(&mut series.labels.clone().into_iter());
            let Some(&index) = index_of.get(&key) else {
                bail!("a stored series that was never sent: {:?}", series.labels);
            };
            seen[index] = true;
            let sent: HashMap<i64, f64> = expected[&index].iter().copied().collect();
            let mut stored_at: HashMap<i64, Vec<f64>> = HashMap::new();
            for &(t, v) in &series.samples {
                stored_at.entry(t).or_default().push(v);
            }
            for (t, values) in &stored_at {
                match sent.get(t) {
                    Some(value) => {
                        check.duplicated += values.len() as u64 - 1;
                        if values.iter().any(|v| v.to_bits() != value.to_bits()) {
                            check.wrong += 1;
                        }
                    }
                    // Never sent at that time: foreign data.
                    None => check.wrong += values.len() as u64,
                }
            }
            check.missing += sent.keys().filter(|t| !stored_at.contains_key(t)).count() as u64;
        }
    }
    for (&index, samples) in &expected {
        if !seen[index] {
            check.missing += samples.len() as u64;
        }
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(recoveries_ms: &[u64]) -> FailoverResult {
        FailoverResult {
            trials: recoveries_ms
                .iter()
                .map(|&ms| Trial {
                    shard: 1,
                    killed_node: 1,
                    recovery: Duration::from_millis(ms),
                })
                .collect(),
            samples_acknowledged: 10,
            samples_lost: 0,
            samples_duplicated: 0,
            samples_wrong: 0,
            attempts_failed: 3,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let r = result(&[900, 300, 500, 700, 100]);
        assert_eq!(r.recovery_percentile(0.5), Some(Duration::from_millis(500)));
        assert_eq!(
            r.recovery_percentile(0.99),
            Some(Duration::from_millis(900))
        );
        assert_eq!(result(&[]).recovery_percentile(0.99), None);
    }

    #[test]
    fn table_lists_each_trial() {
        let table = result(&[250, 750]).table();
        assert_eq!(table.rows[1], ["writes resume, p50 (ms)", "250"]);
        assert_eq!(
            table.rows[3][1],
            "250 (shard 1, node 1), 750 (shard 1, node 1)"
        );
    }

    #[test]
    fn the_attempt_log_finds_the_first_ack_after_a_kill() {
        let state = LoadState::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        for (start, end, acknowledged) in [
            (0, 50, true),
            (90, 400, true),
            (110, 300, false),
            (120, 600, true),
            (130, 500, true),
        ] {
            state.record(Attempt {
                start: at(start),
                end: at(end),
                acknowledged,
            });
        }
        // Started before the kill (at 100 ms): not a proof of recovery.
        assert_eq!(state.first_ack_since(at(100)), Some(at(500)));
        assert_eq!(state.first_ack_since(at(200)), None);
        assert_eq!(state.failed_attempts(), 1);
    }
}
