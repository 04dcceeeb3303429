//! Skyview receiver clusters under test: one node with RF=1, or three nodes with RF=3, all
//! as separate `skyview receiver` processes on this machine.
//!
//! Disk is measured per replica after a clean stop of every node (a stopped node has flushed
//! its head into the TSDB): `<data>/tsdb` is the store a replica keeps, `<data>/raft` the
//! replicated log, which snapshots purge and is therefore reported apart.

use std::path::Path;

use anyhow::Result;
use skyview_tests::receiver::{ReceiverCluster, ReceiverOptions};

use crate::disk::tree_bytes;

/// Bytes on disk of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeDisk {
    pub node: u64,
    pub tsdb: u64,
    pub raft: u64,
}

/// Starts `nodes` nodes with `shards` shards and replication factor `rf`, keeping data and
/// logs under `dir`.
pub async fn start(dir: &Path, nodes: u64, shards: u32, rf: usize) -> Result<ReceiverCluster> {
    ReceiverCluster::start_in(dir, ReceiverOptions::new(nodes, shards, rf)).await
}

/// The pid of every running node.
pub fn pids(cluster: &ReceiverCluster) -> Vec<u32> {
    cluster
        .node_ids()
        .into_iter()
        .filter_map(|node| cluster.pid(node))
        .collect()
}

/// Stops every node cleanly and measures each one's directories.
pub async fn stop_and_measure(cluster: &mut ReceiverCluster) -> Result<Vec<NodeDisk>> {
    let mut disks = Vec::new();
    for node in cluster.node_ids() {
        cluster.stop(node).await?;
        let data = cluster.data_dir(node);
        disks.push(NodeDisk {
            node,
            tsdb: tree_bytes(&data.join("tsdb"))?,
            raft: tree_bytes(&data.join("raft"))?,
        });
    }
    Ok(disks)
}
