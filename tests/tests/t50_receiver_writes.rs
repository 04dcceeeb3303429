//! Writes through every node of an in-process 3-node cluster (RF 3, 4 shards) are stored
//! exactly once, whatever the retries, and survive a shard leader going away.
//!
//! 1. Identified batches (as a Skyview agent sends them) go to the nodes in turn; the same
//!    batches are then retried three more times, each retry to a different node. Every node
//!    must return exactly one sample per written (series, timestamp): a retried batch is
//!    deduplicated wherever it lands (invariant I2) and a write acknowledged by one node is
//!    read by any other (I3).
//! 2. The leader of shard 1 is stopped and the same batches are retried once more through the
//!    two remaining nodes, retrying each until it is acknowledged (the first attempts may meet
//!    the election), plus one new batch: still exact, new batch included.
//! 3. Unidentified requests (stock Prometheus sends no identity) sent twice, to two nodes, are
//!    stored once: per-sample dedup makes (series, timestamp) idempotent.
//! 4. The stopped node is restarted and returns exactly the same thing.

use std::time::Duration;

use anyhow::{bail, ensure, Result};
use skyview_api::remote_write::{BatchId, WriteRequest};
use skyview_tests::cluster::InProcessCluster;
use skyview_tests::receiver_expected::Expected;
use skyview_tests::remote_write_client::{
    now_ms, time_series, write_request, RemoteWriteClient, WriteOptions,
};
use tokio::time::Instant;

const SHARDS: u32 = 4;
const BATCHES: u64 = 6;
const SERIES_PER_BATCH: usize = 24;
const SAMPLES_PER_SERIES: i64 = 5;
/// How long a write may keep failing while a new leader is elected.
const FAILOVER_DEADLINE: Duration = Duration::from_secs(30);

const AGENT: &str = "t50-agent";
const IDENTIFIED: &str = "t50_identified";
const UNIDENTIFIED: &str = "t50_unidentified";

/// Batch `k` of the agent: every series gets `SAMPLES_PER_SERIES` samples of its own
/// millisecond range, so batches never share a (series, timestamp).
fn batch(base_ms: i64, k: u64) -> (BatchId, WriteRequest) {
    let identity = BatchId::new(AGENT, 0, k, k).expect("a valid identity");
    let first = base_ms + k as i64 * SAMPLES_PER_SERIES;
    let series = (0..SERIES_PER_BATCH)
        .map(|s| {
            let samples: Vec<(i64, f64)> = (0..SAMPLES_PER_SERIES)
                .map(|j| (first + j, (k * 1000 + s as u64) as f64 + j as f64 / 8.0))
                .collect();
            let s = s.to_string();
            time_series(&[("__name__", IDENTIFIED), ("series", &s)], &samples)
        })
        .collect();
    (identity, write_request(series))
}

/// Sends `request` to `urls` in turn until one acknowledges it.
async fn write_until_acknowledged(
    client: &RemoteWriteClient,
    urls: &[String],
    request: &WriteRequest,
    identity: Option<&BatchId>,
) -> Result<()> {
    let deadline = Instant::now() + FAILOVER_DEADLINE;
    let mut answers = Vec::new();
    for url in urls.iter().cycle() {
        let options = WriteOptions {
            identity,
            tenant: None,
        };
        match client.write(url, request, options).await {
            Ok(reply) if reply.is_success() => return Ok(()),
            Ok(reply) => {
                ensure!(
                    reply.status >= 500 || reply.status == 429,
                    "{url} refused a valid write for good: HTTP {}: {}",
                    reply.status,
                    reply.body
                );
                answers.push(format!("{url}: {} {}", reply.status, reply.body));
            }
            Err(e) => answers.push(format!("{url}: {e:#}")),
        }
        if Instant::now() >= deadline {
            bail!("not acknowledged within {FAILOVER_DEADLINE:?}; answers: {answers:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!("cycling over a non-empty list never ends")
}

/// Reads every test series from `url` and compares with `expected`.
async fn check_node(
    client: &RemoteWriteClient,
    url: &str,
    expected: &Expected,
    base_ms: i64,
) -> Result<()> {
    let selector = format!(r#"{{__name__=~"{IDENTIFIED}|{UNIDENTIFIED}"}}"#);
    let stored = client
        .select(url, &selector, base_ms, now_ms() + 60_000, None)
        .await?;
    expected
        .check(&stored)
        .map_err(|e| e.context(format!("reading through {url}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retried_batches_are_stored_exactly_once_across_nodes_and_a_leader_loss() -> Result<()> {
    let mut cluster = InProcessCluster::start(3, SHARDS, 3).await?;
    let client = RemoteWriteClient::new()?;
    let urls = cluster.urls();
    let base_ms = now_ms() - 60_000;
    let mut expected = Expected::new();

    // 1. Every batch through every node: first sends, then three retries on other nodes.
    for round in 0..4 {
        for k in 1..=BATCHES {
            let (identity, request) = batch(base_ms, k);
            let url = &urls[(k as usize + round) % urls.len()];
            let reply = client
                .write(
                    url,
                    &request,
                    WriteOptions {
                        identity: Some(&identity),
                        tenant: None,
                    },
                )
                .await?;
            ensure!(
                reply.status == 204,
                "round {round}, batch {k} via {url}: HTTP {} {}",
                reply.status,
                reply.body
            );
            expected.add_request(&request);
        }
    }
    ensure!(
        expected.samples() == (BATCHES as usize) * SERIES_PER_BATCH * SAMPLES_PER_SERIES as usize
    );
    for url in &urls {
        check_node(&client, url, &expected, base_ms).await?;
    }

    // 2. The leader of shard 1 goes away; the batches are retried through the others.
    let leader = cluster
        .shard_leader(1)
        .await?
        .ok_or_else(|| anyhow::anyhow!("shard 1 has no leader"))?;
    cluster.stop(leader).await?;
    let survivors: Vec<String> = cluster
        .node_ids()
        .into_iter()
        .filter(|&id| id != leader)
        .map(|id| cluster.url(id))
        .collect();
    for k in 1..=BATCHES + 1 {
        let (identity, request) = batch(base_ms, k);
        write_until_acknowledged(&client, &survivors, &request, Some(&identity)).await?;
        expected.add_request(&request);
    }
    for url in &survivors {
        check_node(&client, url, &expected, base_ms).await?;
    }

    // 3. Requests without identity, twice, to two nodes: each sample stored once.
    let plain = write_request(
        (0..SERIES_PER_BATCH)
            .map(|s| {
                let s = s.to_string();
                let samples = [(base_ms + 1, 1.0), (base_ms + 2, f64::NAN)];
                time_series(&[("__name__", UNIDENTIFIED), ("series", &s)], &samples)
            })
            .collect(),
    );
    for url in &survivors {
        write_until_acknowledged(&client, std::slice::from_ref(url), &plain, None).await?;
    }
    expected.add_request(&plain);
    for url in &survivors {
        check_node(&client, url, &expected, base_ms).await?;
    }

    // 4. The stopped node comes back with everything.
    cluster.restart(leader).await?;
    for url in &urls {
        check_node(&client, url, &expected, base_ms).await?;
    }
    eprintln!(
        "stored exactly {} samples of {} series after 5 deliveries of each batch and a \
         leader stop (node {leader})",
        expected.samples(),
        expected.series()
    );
    cluster.shutdown().await
}
