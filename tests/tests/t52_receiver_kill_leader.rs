//! SIGKILL of a shard leader under an identified write load loses no acknowledged sample and
//! duplicates none (invariants I1 and I2), on a 3-process cluster with RF 3.
//!
//! Several writers send identified batches, like agents, retrying any non-2xx answer with the
//! same identity (on the next node). Mid-load, the leader of shard 1 is killed with SIGKILL; a
//! probe then writes a series of shard 1 through the surviving nodes until a write succeeds,
//! which measures the failover as a client sees it. The killed node is restarted during the
//! load. Once the writers stop, every node must return, for every series, exactly the
//! acknowledged batches: each timestamp once, none missing.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use skyview_api::remote_write::BatchId;
use skyview_raft::sharding::shard_of;
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::receiver_expected::Expected;
use skyview_tests::receiver_load::LoadSpec;
use skyview_tests::remote_write_client::{
    now_ms, time_series, write_request, RemoteWriteClient, WriteOptions,
};
use skyview_tests::wait::wait_until;
use tokio::time::Instant;

const SHARDS: u32 = 4;
const PROBED_SHARD: u32 = 1;
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// Far above the failover target (about 1 s): a failover this slow is a bug, not noise.
const FAILOVER_LIMIT: Duration = Duration::from_secs(15);

/// The labels of a probe series that hashes to `shard`.
fn probe_labels(shard: u32) -> Vec<(String, String)> {
    (0..)
        .map(|i: u32| {
            vec![
                ("__name__".to_owned(), "t52_probe".to_owned()),
                ("probe".to_owned(), i.to_string()),
            ]
        })
        .find(|labels| shard_of("default", labels, SHARDS) == shard)
        .expect("some probe series hashes to every shard")
}

/// Writes batch `k` of the probe series to the `urls` in turn until one acknowledges it;
/// returns how long that took.
async fn probe_until_written(
    client: &RemoteWriteClient,
    urls: &[String],
    labels: &[(String, String)],
    k: u64,
    timestamp: i64,
    expected: &mut Expected,
) -> Result<Duration> {
    let started = Instant::now();
    let identity = BatchId::new("t52-probe", 0, k, k)?;
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = write_request(vec![time_series(&labels, &[(timestamp, k as f64)])]);
    for url in urls.iter().cycle() {
        let options = WriteOptions {
            identity: Some(&identity),
            tenant: None,
        };
        if let Ok(reply) = client.write(url, &request, options).await {
            if reply.is_success() {
                expected.add_request(&request);
                return Ok(started.elapsed());
            }
            ensure!(
                reply.status >= 500 || reply.status == 429,
                "probe refused for good: {reply:?}"
            );
        }
        if started.elapsed() > LOAD_TIMEOUT {
            bail!("the probe of shard {PROBED_SHARD} was not acknowledged in {LOAD_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unreachable!("cycling over a non-empty list never ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_shard_leader_loses_and_duplicates_nothing() -> Result<()> {
    let mut cluster = ReceiverCluster::start(3, SHARDS, 3).await?;
    let client = RemoteWriteClient::new()?;
    let spec = LoadSpec {
        metric: "t52_load".into(),
        agent_prefix: "t52-writer".into(),
        writers: 4,
        series_per_writer: 16,
        pause: Duration::from_millis(20),
    };
    let load = spec.start(cluster.urls())?;
    wait_until("the load to get going", LOAD_TIMEOUT, || async {
        Ok((load.acked() >= 40).then_some(()))
    })
    .await?;

    let leader = cluster
        .shard_leader(PROBED_SHARD)
        .await?
        .context("shard 1 has no leader")?;
    let survivors: Vec<String> = cluster
        .node_ids()
        .into_iter()
        .filter(|&id| id != leader)
        .map(|id| cluster.url(id))
        .collect();
    let probe = probe_labels(PROBED_SHARD);
    let mut probe_expected = Expected::new();
    let probe_base = now_ms();

    let acked_at_kill = load.acked();
    cluster.kill9(leader)?;
    let failover = probe_until_written(
        &client,
        &survivors,
        &probe,
        1,
        probe_base + 1,
        &mut probe_expected,
    )
    .await?;
    let new_leader = cluster.shard_leader(PROBED_SHARD).await?;
    eprintln!(
        "killed node {leader} (leader of shard {PROBED_SHARD}); a write to shard \
         {PROBED_SHARD} succeeded again {:.0} ms later (new leader: {new_leader:?})",
        failover.as_secs_f64() * 1000.0
    );
    ensure!(
        failover <= FAILOVER_LIMIT,
        "writes to shard {PROBED_SHARD} failed for {failover:?} after the leader was killed"
    );
    ensure!(
        new_leader.is_some_and(|l| l != leader),
        "shard {PROBED_SHARD} reports leader {new_leader:?} after node {leader} was killed"
    );

    wait_until(
        "the load to go on without the killed node",
        LOAD_TIMEOUT,
        || async { Ok((load.acked() >= acked_at_kill + 80).then_some(())) },
    )
    .await?;
    cluster.restart(leader).await?;
    let acked_at_restart = load.acked();
    wait_until(
        "the load to go on with the restarted node",
        LOAD_TIMEOUT,
        || async { Ok((load.acked() >= acked_at_restart + 40).then_some(())) },
    )
    .await?;
    let report = load.stop().await?;
    let probe_after = probe_until_written(
        &client,
        &cluster.urls(),
        &probe,
        2,
        probe_base + 2,
        &mut probe_expected,
    )
    .await?;
    eprintln!(
        "{} batches ({} samples) acknowledged, {} attempts retried; probe after restart took {:?}",
        report.writers.iter().map(|w| w.acked).sum::<u64>(),
        report.acked_samples(),
        report.refused(),
        probe_after
    );

    for id in cluster.node_ids() {
        let url = cluster.url(id);
        report
            .verify(&client, &url)
            .await
            .with_context(|| format!("reading the load through node {id}"))?;
        let stored = client
            .select(&url, "t52_probe", probe_base, now_ms() + 60_000, None)
            .await?;
        probe_expected
            .check(&stored)
            .with_context(|| format!("reading the probe through node {id}"))?;
    }
    Ok(())
}
