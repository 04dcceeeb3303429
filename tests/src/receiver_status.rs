//! The receiver's `GET /api/v1/status/cluster`, read back into the node's own
//! [`ClusterStatus`] type, with the questions the tests ask of it.
//!
//! The whole JSON document is kept next to the typed view so a failing check can print what the
//! node said.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use skyview_raft::node::{ClusterStatus, GroupStatus, ShardStatus};

/// A node's view of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterView {
    pub status: ClusterStatus,
    /// The `data` document as received.
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
}

impl ClusterView {
    /// The status of `shard`, failing if the node does not list it.
    pub fn shard(&self, shard: u32) -> Result<&ShardStatus> {
        self.status
            .shards
            .iter()
            .find(|s| s.shard == shard)
            .with_context(|| format!("shard {shard} missing from the status: {}", self.raw))
    }

    /// The group state of `shard` as reported, failing when no replica reported it.
    pub fn shard_group(&self, shard: u32) -> Result<&GroupStatus> {
        let status = self.shard(shard)?;
        status.group.as_ref().with_context(|| {
            format!(
                "shard {shard} has no group state ({}): {}",
                status.error.as_deref().unwrap_or("no error given"),
                self.raw
            )
        })
    }

    /// The leader of `shard`, if one is known.
    pub fn shard_leader(&self, shard: u32) -> Result<Option<u64>> {
        Ok(self.shard(shard)?.group.as_ref().and_then(|g| g.leader))
    }

    /// True when the meta group and every shard have a leader.
    pub fn fully_led(&self) -> bool {
        self.status.meta.leader.is_some()
            && self
                .status
                .shards
                .iter()
                .all(|s| s.group.as_ref().is_some_and(|g| g.leader.is_some()))
    }

    /// The ids of the cluster's members.
    pub fn node_ids(&self) -> Vec<u64> {
        self.status.nodes.iter().map(|n| n.id).collect()
    }
}

/// GETs `{base}/api/v1/status/cluster` and decodes it.
pub async fn fetch_status(http: &reqwest::Client, base: &str) -> Result<ClusterView> {
    let url = format!("{base}/api/v1/status/cluster");
    let response = http
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let code = response.status();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !code.is_success() {
        bail!("{url} answered {code}: {}", String::from_utf8_lossy(&body));
    }
    parse_status(&body).with_context(|| format!("decoding the status from {url}"))
}

fn parse_status(body: &[u8]) -> Result<ClusterView> {
    let envelope: Envelope = serde_json::from_slice(body)
        .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(body)))?;
    if envelope.status != "success" {
        bail!(
            "status failed: {}",
            envelope.error.unwrap_or(envelope.status)
        );
    }
    let raw = envelope.data.context("a successful status without data")?;
    let status = ClusterStatus::deserialize(&raw)
        .with_context(|| format!("unexpected status shape: {raw}"))?;
    Ok(ClusterView { status, raw })
}
