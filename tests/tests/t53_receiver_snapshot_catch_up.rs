//! A node that was down while the others purged their logs past it catches up from a
//! snapshot, and then holds its share of the quorum.
//!
//! Node 3 of a 3-process cluster (RF 3) is stopped; a write load then runs until, on every
//! shard, the leader's snapshot covers far more than node 3 had matched: with the entries
//! openraft keeps after a snapshot purged, node 3 can only catch up by installing a snapshot
//! (the shard snapshot is a flush plus a RocksDB checkpoint shipped whole). Node 3 is
//! restarted; it must be caught up on every shard (its matched index at the leader's last
//! index) and hold everything: one of the two other nodes is then killed, and every write
//! acknowledged must still be read, exactly, through node 3, whose vote and data the remaining
//! quorum now needs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::receiver_load::LoadSpec;
use skyview_tests::receiver_status::ClusterView;
use skyview_tests::remote_write_client::RemoteWriteClient;
use skyview_tests::wait::wait_until;

const SHARDS: u32 = 2;
const LAGGARD: u64 = 3;
/// Entries a node keeps in its log behind a snapshot (`LOG_KEPT_BEHIND_SNAPSHOT` in
/// `skyview_raft::node::raft_config`, private there, hence repeated here): a snapshot index more
/// than this past what node 3 holds means the entries it needs are purged. Snapshots are taken
/// every 1,000 entries there (sooner under many samples), so the load runs for a thousand or
/// more entries per shard.
const LOGS_KEPT_AFTER_SNAPSHOT: u64 = 256;
const PURGE_TIMEOUT: Duration = Duration::from_secs(300);
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// Per shard, the leader's last log index: an upper bound of what any replica holds.
fn last_indexes(view: &ClusterView) -> Result<BTreeMap<u32, u64>> {
    view.status
        .shards
        .iter()
        .map(|shard| {
            let group = view.shard_group(shard.shard)?;
            let last = group
                .last_log_index
                .with_context(|| format!("shard {} reports no last log index", shard.shard))?;
            Ok((shard.shard, last))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_purged_log_catches_up_from_a_snapshot() -> Result<()> {
    let mut cluster = ReceiverCluster::start(3, SHARDS, 3).await?;
    let client = RemoteWriteClient::new()?;
    cluster.stop(LAGGARD).await?;
    // Whatever node 3 holds, it is at most what the leaders held once it was gone.
    let stopped_at = wait_until(
        "every shard led without node 3",
        CATCH_UP_TIMEOUT,
        || async {
            let view = cluster.status().await?;
            let led_without = view.status.shards.iter().all(|s| {
                s.group
                    .as_ref()
                    .is_some_and(|g| g.leader.is_some_and(|l| l != LAGGARD))
            });
            if !led_without {
                bail!(
                    "not every shard has a leader other than node {LAGGARD}: {}",
                    view.raw
                );
            }
            Ok(Some(last_indexes(&view)?))
        },
    )
    .await?;

    let spec = LoadSpec {
        metric: "t53_load".into(),
        agent_prefix: "t53-writer".into(),
        writers: 4,
        series_per_writer: 8,
        pause: Duration::ZERO,
    };
    let load = spec.start(vec![cluster.url(1), cluster.url(2)])?;
    let snapshots = wait_until(
        "every shard's snapshot to pass the stopped node's log by the kept entries",
        PURGE_TIMEOUT,
        || async {
            let view = cluster.status_from(1).await?;
            let mut snapshots = BTreeMap::new();
            for (&shard, &held) in &stopped_at {
                let snapshot = view.shard_group(shard)?.snapshot_index.unwrap_or(0);
                if snapshot <= held + LOGS_KEPT_AFTER_SNAPSHOT {
                    return Ok(None);
                }
                snapshots.insert(shard, snapshot);
            }
            Ok(Some(snapshots))
        },
    )
    .await?;
    let report = load.stop().await?;
    eprintln!(
        "node {LAGGARD} stopped holding at most log indexes {stopped_at:?}; snapshots now at \
         {snapshots:?} after {} acknowledged samples",
        report.acked_samples()
    );

    cluster.restart(LAGGARD).await?;
    wait_until(
        &format!("node {LAGGARD} to catch up"),
        CATCH_UP_TIMEOUT,
        || async {
            let view = cluster.status_from(1).await?;
            for shard in stopped_at.keys() {
                let group = view.shard_group(*shard)?;
                let last = group.last_log_index.unwrap_or(0);
                let replica = group.replicas.iter().find(|r| r.node == LAGGARD);
                let matched = replica.and_then(|r| r.matched_index).unwrap_or(0);
                if matched < last || !replica.is_some_and(|r| r.healthy) {
                    bail!("shard {shard}: node {LAGGARD} matched {matched} of {last}");
                }
            }
            Ok(Some(()))
        },
    )
    .await?;

    // Node 3 is now needed by the quorum of every shard.
    cluster.kill9(1)?;
    let url = cluster.url(LAGGARD);
    wait_until(
        "reads through the restarted node",
        CATCH_UP_TIMEOUT,
        || async {
            report.verify(&client, &url).await?;
            Ok(Some(()))
        },
    )
    .await?;
    report.verify(&client, &cluster.url(2)).await
}
