//! Membership changes on a running multi-process cluster keep every shard at its replication
//! factor and every acknowledged sample readable.
//!
//! Three nodes (RF 3) take writes; a fourth joins with `--join`; node 1 is removed with
//! `skyview ctl remove-node 1`. The cluster must then place no replica on node 1, give every
//! shard RF replicas (all of them caught up, node 1 out of every group's replication), and
//! return every sample through the remaining nodes, also once node 1 is stopped for good. A
//! write after that is acknowledged and read back.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::receiver_expected::Expected;
use skyview_tests::receiver_status::ClusterView;
use skyview_tests::remote_write_client::{
    now_ms, time_series, write_request, RemoteWriteClient, WriteOptions,
};
use skyview_tests::skyview::skyview_binary;
use skyview_tests::wait::wait_until;

const SHARDS: u32 = 4;
const RF: usize = 3;
const REMOVED: u64 = 1;
const REPLACEMENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Writes five requests of 32 series each through the node `url`, recording them.
async fn write_some(
    client: &RemoteWriteClient,
    url: &str,
    round: &str,
    expected: &mut Expected,
) -> Result<()> {
    let now = now_ms();
    for r in 0..5i64 {
        let series = (0..32)
            .map(|s| {
                let s = s.to_string();
                time_series(
                    &[("__name__", "t54_data"), ("round", round), ("series", &s)],
                    &[(now - 1_000 + r, r as f64)],
                )
            })
            .collect();
        let request = write_request(series);
        let reply = client.write(url, &request, WriteOptions::default()).await?;
        ensure!(reply.status == 204, "write via {url}: {reply:?}");
        expected.add_request(&request);
    }
    Ok(())
}

/// Why the cluster is not yet in the wanted shape after the removal, if it is not.
fn replacement_defect(view: &ClusterView) -> Option<String> {
    if view.node_ids().contains(&REMOVED) {
        return Some(format!("node {REMOVED} is still a member"));
    }
    for shard in &view.status.shards {
        let s = shard.shard;
        if shard.placement.contains(&REMOVED) || shard.placement.len() != RF {
            return Some(format!("shard {s} is placed on {:?}", shard.placement));
        }
        let Some(group) = &shard.group else {
            return Some(format!("shard {s} has no group state: {:?}", shard.error));
        };
        if group.leader.is_none_or(|l| l == REMOVED) {
            return Some(format!("shard {s} is led by {:?}", group.leader));
        }
        let mut replicas: Vec<u64> = group.replicas.iter().map(|r| r.node).collect();
        replicas.sort_unstable();
        let mut placed = shard.placement.clone();
        placed.sort_unstable();
        if replicas != placed || group.replicas.iter().any(|r| !r.voter || !r.healthy) {
            return Some(format!(
                "shard {s} replicates to {:?}, placed on {placed:?}",
                group.replicas
            ));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_and_another_is_removed_without_losing_data() -> Result<()> {
    let mut cluster = ReceiverCluster::start(3, SHARDS, RF).await?;
    let client = RemoteWriteClient::new()?;
    let start = now_ms() - 60_000;
    let mut expected = Expected::new();
    write_some(&client, &cluster.url(1), "before", &mut expected).await?;

    let joined = cluster.join(2).await?;
    write_some(&client, &cluster.url(joined), "joined", &mut expected).await?;

    let ctl = tokio::process::Command::new(skyview_binary()?)
        .args(["ctl", "remove-node", &REMOVED.to_string()])
        .arg(format!("--url={}", cluster.url(2)))
        .output()
        .await
        .context("running skyview ctl remove-node")?;
    ensure!(
        ctl.status.success(),
        "skyview ctl remove-node {REMOVED} failed ({}): {}{}",
        ctl.status,
        String::from_utf8_lossy(&ctl.stdout),
        String::from_utf8_lossy(&ctl.stderr)
    );

    let view = wait_until(
        &format!("no replica on node {REMOVED} and {RF} replicas per shard"),
        REPLACEMENT_TIMEOUT,
        || async {
            let view = cluster.status_from(2).await?;
            match replacement_defect(&view) {
                None => Ok(Some(view)),
                Some(defect) => anyhow::bail!("{defect}; status: {}", view.raw),
            }
        },
    )
    .await?;
    eprintln!("placement after the removal: {:?}", view.status.shards);

    let remaining: Vec<u64> = cluster
        .node_ids()
        .into_iter()
        .filter(|&id| id != REMOVED)
        .collect();
    let selector = r#"{__name__="t54_data"}"#;
    for &id in &remaining {
        let stored = client
            .select(&cluster.url(id), selector, start, now_ms() + 60_000, None)
            .await?;
        expected
            .check(&stored)
            .with_context(|| format!("reading through node {id} after the removal"))?;
    }

    cluster.stop(REMOVED).await?;
    write_some(&client, &cluster.url(joined), "after", &mut expected).await?;
    for &id in &remaining {
        let stored = client
            .select(&cluster.url(id), selector, start, now_ms() + 60_000, None)
            .await?;
        expected
            .check(&stored)
            .with_context(|| format!("reading through node {id} with node {REMOVED} stopped"))?;
    }
    Ok(())
}
