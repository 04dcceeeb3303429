//! What a node is told at start: who it is, where its data lives, and how to find the cluster.
//!
//! The flags of `skyview receiver` map one to one onto these fields. Validation happens before
//! anything is opened, so a typo in `--initial-cluster` never half-creates a data dir.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::node::error::NodeError;
use crate::type_config::NodeId;

/// How many shards a new cluster gets when none is configured (fixed at creation).
pub const DEFAULT_SHARDS: u32 = 16;
/// How many replicas a shard gets when none is configured (capped at the node count).
pub const DEFAULT_REPLICATION_FACTOR: usize = 3;

/// A receiver node's configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id (`--node-id`), unique in the cluster and never reused.
    pub node_id: NodeId,
    /// This node's HTTP address as its peers reach it (`http://host:port`).
    pub advertise_url: String,
    /// The data dir: `raft/` (Raft logs and votes), `tsdb/` (samples), `snapshots/`.
    pub data_dir: PathBuf,
    /// `--initial-cluster`: id -> URL of every node of a new cluster (may be just this node).
    /// Ignored on restart, when the data dir already holds the cluster's state.
    pub initial_cluster: BTreeMap<NodeId, String>,
    /// `--join`: the URL of any running node, for a node added to an existing cluster.
    pub join: Option<String>,
    /// Number of shards of a new cluster (fixed when the cluster is created).
    pub shards: u32,
    /// Replicas per shard, capped at the number of nodes.
    pub replication_factor: usize,
    /// The TSDB's settings; every replica of a shard must use the same.
    pub tsdb: skyview_storage::tsdb::TsdbOptions,
}

impl NodeConfig {
    /// A single-node cluster at `advertise_url` with the default shard count and RF.
    pub fn single(node_id: NodeId, advertise_url: impl Into<String>, data_dir: PathBuf) -> Self {
        let advertise_url = advertise_url.into();
        NodeConfig {
            node_id,
            initial_cluster: BTreeMap::from([(node_id, advertise_url.clone())]),
            advertise_url,
            data_dir,
            join: None,
            shards: DEFAULT_SHARDS,
            replication_factor: DEFAULT_REPLICATION_FACTOR,
            tsdb: skyview_storage::tsdb::TsdbOptions::default(),
        }
    }

    /// Check the configuration is consistent.
    pub fn validate(self) -> Result<NodeConfig, NodeError> {
        if self.shards == 0 {
            return Err(NodeError::Config("--shards must be at least 1".into()));
        }
        if self.replication_factor == 0 {
            return Err(NodeError::Config(
                "--replication-factor must be at least 1".into(),
            ));
        }
        if !is_http_url(&self.advertise_url) {
            return Err(NodeError::Config(format!(
                "advertise URL {:?} must start with http:// or https://",
                self.advertise_url
            )));
        }
        if let Some(url) = self.initial_cluster.values().find(|u| !is_http_url(u)) {
            return Err(NodeError::Config(format!(
                "--initial-cluster URL {url:?} must start with http:// or https://"
            )));
        }
        match &self.join {
            Some(url) if !is_http_url(url) => {
                return Err(NodeError::Config(format!(
                    "--join URL {url:?} must start with http:// or https://"
                )))
            }
            Some(_) => {}
            None if !self.initial_cluster.contains_key(&self.node_id) => {
                return Err(NodeError::Config(format!(
                    "--initial-cluster does not list this node ({}) and --join is not set",
                    self.node_id
                )))
            }
            None => {}
        }
        Ok(self)
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> NodeConfig {
        NodeConfig::single(1, "http://127.0.0.1:9201", PathBuf::from("/tmp/x"))
    }

    #[test]
    fn single_node_config_is_valid() {
        assert!(config().validate().is_ok());
    }

    #[test]
    fn refuses_zero_shards_and_bad_urls() {
        let mut c = config();
        c.shards = 0;
        assert!(c.validate().is_err());
        let mut c = config();
        c.initial_cluster.insert(2, "127.0.0.1:9202".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_node_missing_from_the_initial_cluster_must_join() {
        let mut c = config();
        c.initial_cluster = BTreeMap::from([(2, "http://127.0.0.1:9202".into())]);
        assert!(c.clone().validate().is_err());
        c.join = Some("http://127.0.0.1:9202".into());
        assert!(c.validate().is_ok());
    }
}
