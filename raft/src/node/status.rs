//! The cluster status a node reports (`GET /api/v1/status/cluster`, `skyview ctl status`): the
//! members, the meta group, and per shard its placement, leader and replica health.
//!
//! A group's figures come from its leader's openraft metrics when this node leads it, or from
//! the leader itself over `/internal/shard/{shard}/status` otherwise: only a leader knows how far
//! each replica has matched its log.

use std::collections::BTreeMap;

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::group::GroupId;
use crate::network::messages::Refusal;
use crate::network::path::InternalPath;
use crate::node::error::ReadError;
use crate::node::Node;
use crate::type_config::{LogId, NodeId, PeerNode};

/// A replica counts as healthy while it is at most this many entries behind the leader.
pub const HEALTHY_LAG_ENTRIES: u64 = 1_000;

/// The whole cluster as seen from one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: NodeId,
    /// Number of shards of the cluster.
    pub shards_total: u32,
    /// The members of the meta group.
    pub nodes: Vec<NodeStatus>,
    /// The meta group.
    pub meta: GroupStatus,
    /// Every shard, in shard order.
    pub shards: Vec<ShardStatus>,
}

/// One member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's id.
    pub id: NodeId,
    /// Its HTTP address.
    pub url: String,
    /// Whether it votes in the meta group (up to five nodes do; the rest are learners).
    pub voter: bool,
    /// Whether it is being removed (its replicas are moving away).
    pub leaving: bool,
}

/// One Raft group's state, as its leader (or, without a leader, a member) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// The node whose metrics these are.
    pub reported_by: NodeId,
    /// The current leader, if one is known.
    pub leader: Option<NodeId>,
    /// The current term.
    pub term: u64,
    /// The highest index stored on a quorum of voters (known on the leader only).
    pub committed_index: Option<u64>,
    /// The last index applied by the reporting node's state machine.
    pub applied_index: Option<u64>,
    /// The reporting node's last log index.
    pub last_log_index: Option<u64>,
    /// The last index included in the reporting node's snapshot.
    pub snapshot_index: Option<u64>,
    /// Per replica, how far it has matched the leader's log (leader only; empty otherwise).
    pub replicas: Vec<ReplicaStatus>,
}

/// How one replica of a group is doing, from its leader's replication metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// The replica's node.
    pub node: NodeId,
    /// Whether it votes in the group.
    pub voter: bool,
    /// The last index known to be stored on it.
    pub matched_index: Option<u64>,
    /// Entries it is behind the leader's last log index.
    pub lag: u64,
    /// Whether it is within [`HEALTHY_LAG_ENTRIES`] of the leader.
    pub healthy: bool,
}

/// One shard: where it is placed and how its group is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStatus {
    /// The shard (1-based).
    pub shard: u32,
    /// The nodes placed to hold it (first = preferred leader), from the meta group.
    pub placement: Vec<NodeId>,
    /// The group's state, when some replica answered.
    pub group: Option<GroupStatus>,
    /// Why the group's state is missing, if it is.
    pub error: Option<String>,
}

impl GroupStatus {
    /// The status openraft's metrics describe.
    pub fn from_metrics(metrics: &openraft::RaftMetrics<NodeId, PeerNode>) -> GroupStatus {
        let membership = metrics.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let last = metrics.last_log_index.unwrap_or(0);
        let mut replicas = Vec::new();
        let mut committed_index = None;
        if let Some(replication) = &metrics.replication {
            for (node, matched) in replication.iter() {
                let matched_index = matched.map(|log_id| log_id.index);
                let lag = last.saturating_sub(matched_index.unwrap_or(0));
                replicas.push(ReplicaStatus {
                    node: *node,
                    voter: voters.contains(node),
                    matched_index,
                    lag,
                    healthy: lag <= HEALTHY_LAG_ENTRIES,
                });
            }
            committed_index = quorum_matched(&voters, replication);
        }
        GroupStatus {
            reported_by: metrics.id,
            leader: metrics.current_leader,
            term: metrics.current_term,
            committed_index,
            applied_index: metrics.last_applied.map(|log_id| log_id.index),
            last_log_index: metrics.last_log_index,
            snapshot_index: metrics.snapshot.map(|log_id| log_id.index),
            replicas,
        }
    }
}

/// The highest index a majority of `voters` has matched: what the leader may commit.
fn quorum_matched(voters: &[NodeId], replication: &BTreeMap<NodeId, Option<LogId>>) -> Option<u64> {
    if voters.is_empty() {
        return None;
    }
    let mut matched: Vec<u64> = voters
        .iter()
        .map(|v| {
            replication
                .get(v)
                .copied()
                .flatten()
                .map_or(0, |log_id| log_id.index)
        })
        .collect();
    matched.sort_unstable_by(|a, b| b.cmp(a));
    matched.get(voters.len() / 2).copied()
}

/// How long the status page waits for one group's leader to describe it.
const GROUP_STATUS_TIMEOUT: Duration = Duration::from_secs(1);

impl Node {
    pub(crate) async fn cluster_status(&self) -> Result<ClusterStatus, ReadError> {
        let metrics = self.meta.metrics().borrow().clone();
        let state = self.meta_state.borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let nodes = membership
            .nodes()
            .map(|(id, peer)| NodeStatus {
                id: *id,
                url: peer.http_addr.clone(),
                voter: voters.contains(id),
                leaving: state.is_leaving(*id),
            })
            .collect();
        let meta = match self
            .group_status_from_leader(GroupId::META, metrics.current_leader)
            .await
        {
            Ok(status) => status,
            Err(_) => GroupStatus::from_metrics(&metrics),
        };
        let shards = futures::future::join_all((1..=self.shards()).map(|shard| {
            let placement = state
                .placement(shard)
                .map(<[NodeId]>::to_vec)
                .unwrap_or_default();
            self.shard_status(shard, placement)
        }))
        .await;
        Ok(ClusterStatus {
            node_id: self.id(),
            shards_total: self.shards(),
            nodes,
            meta,
            shards,
        })
    }

    async fn shard_status(&self, shard: u32, placement: Vec<NodeId>) -> ShardStatus {
        let group = GroupId::shard(shard);
        let local = self.local_group_status(group).ok();
        let leader = local
            .as_ref()
            .and_then(|s| s.leader)
            .or_else(|| self.leaders.get(shard))
            .or_else(|| placement.first().copied());
        let (group, error) = match self.group_status_from_leader(group, leader).await {
            Ok(status) => (Some(status), None),
            Err(refusal) => match local {
                Some(local) => (Some(local), None),
                None => (None, Some(refusal.to_string())),
            },
        };
        ShardStatus {
            shard,
            placement,
            group,
            error,
        }
    }

    /// `group`'s status as `leader` reports it (locally when this node is the leader).
    async fn group_status_from_leader(
        &self,
        group: GroupId,
        leader: Option<NodeId>,
    ) -> Result<GroupStatus, Refusal> {
        match leader {
            None => Err(Refusal::Unavailable("no leader known".into())),
            Some(leader) if leader == self.id() => self.local_group_status(group),
            Some(leader) => {
                let deadline = Instant::now() + GROUP_STATUS_TIMEOUT;
                let path = InternalPath::ShardStatus(group.0);
                self.call_peer(leader, path, Bytes::new(), deadline).await
            }
        }
    }
}
