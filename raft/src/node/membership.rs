//! Who is in the cluster: bootstrapping a new one from `--initial-cluster`, joining a running
//! one with `--join`, and removing a node.
//!
//! - **Bootstrap**: the lowest id of the initial cluster initialises the meta group (the five
//!   lowest ids vote, the rest are added as learners once a leader exists), and whichever node
//!   leads the meta group proposes the deterministic initial placement of every shard not yet
//!   placed. With a data dir from an earlier run nothing is initialised again: openraft refuses
//!   to initialise a group that has a log or a vote, and placed shards stay placed.
//! - **Join**: the new node asks any member (`/internal/cluster/join`); the member routes it to
//!   the meta leader, which adds it as a learner, then as a voter while there are fewer than
//!   five. Placing replicas on it is the placement logic's job.
//! - **Remove**: the node is marked leaving in the meta state; the meta leader's removal
//!   driver (`replica_moves`) moves its replicas elsewhere, and once no placement names it the
//!   mark is cleared and it leaves the meta group (a learner is promoted in its place when it
//!   was a voter).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::ChangeMembers;
use tokio::time::Instant;

use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::network::messages::{JoinRequest, Refusal, RemoveRequest};
use crate::network::path::InternalPath;
use crate::node::error::AdminError;
use crate::node::meta_client::refusal_of;
use crate::node::placement::{initial_placement, meta_voters, MAX_META_VOTERS};
use crate::node::Node;
use crate::type_config::{NodeId, PeerNode};

/// How long a membership change may take (a learner catching up on the meta log included).
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between bootstrap steps and join attempts.
const MEMBERSHIP_RETRY: Duration = Duration::from_millis(200);

impl Node {
    /// Background task: bootstrap a new cluster or join a running one.
    pub(crate) async fn establish_membership(self: Arc<Self>) {
        match self.config.join.clone() {
            Some(url) => self.join_cluster(&url).await,
            None => self.bootstrap().await,
        }
    }

    fn initial_nodes(&self) -> Vec<NodeId> {
        self.config.initial_cluster.keys().copied().collect()
    }

    fn initial_peer(&self, node: NodeId) -> Option<PeerNode> {
        self.config.initial_cluster.get(&node).map(PeerNode::new)
    }

    async fn bootstrap(&self) {
        let initial = self.initial_nodes();
        if initial.first() == Some(&self.id()) {
            match self.meta.is_initialized().await {
                Ok(true) => {}
                Ok(false) => {
                    let voters: BTreeMap<NodeId, PeerNode> = meta_voters(&initial)
                        .into_iter()
                        .filter_map(|n| Some((n, self.initial_peer(n)?)))
                        .collect();
                    match self.meta.initialize(voters).await {
                        Ok(()) => tracing::info!(node = self.id(), "initialised the meta group"),
                        Err(e) => tracing::info!(error = %e, "meta group not initialised here"),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "meta group stopped before bootstrap");
                    return;
                }
            }
        }
        loop {
            if self.bootstrap_step(&initial).await {
                tracing::info!(node = self.id(), "every shard is placed");
                return;
            }
            tokio::select! {
                () = self.stopped() => return,
                () = tokio::time::sleep(MEMBERSHIP_RETRY) => {}
            }
        }
    }

    /// One round of bootstrap at the meta leader: add the initial nodes beyond the voters as
    /// learners, place unplaced shards. True once every shard is placed.
    async fn bootstrap_step(&self, initial: &[NodeId]) -> bool {
        let state = self.meta_state.borrow().clone();
        let unplaced: Vec<u32> = (1..=self.shards())
            .filter(|shard| state.placement(*shard).is_none())
            .collect();
        if unplaced.is_empty() {
            return true;
        }
        let metrics = self.meta.metrics().borrow().clone();
        if metrics.current_leader != Some(self.id()) {
            return false;
        }
        let membership = metrics.membership_config.membership().clone();
        for node in initial {
            if membership.get_node(node).is_none() {
                let Some(peer) = self.initial_peer(*node) else {
                    continue;
                };
                if let Err(e) = self.meta.add_learner(*node, peer, false).await {
                    tracing::warn!(node, error = %e, "adding an initial node as meta learner");
                    return false;
                }
            }
        }
        let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
        for shard in unplaced {
            let replicas = initial_placement(shard, initial, self.config.replication_factor);
            let command = MetaCommand::SetShardPlacement { shard, replicas };
            match self.leader_propose_meta(command, deadline).await {
                Ok(MetaOutcome::Placed { .. }) => {}
                Ok(other) => {
                    tracing::error!(shard, outcome = ?other, "initial placement refused");
                    return false;
                }
                Err(e) => {
                    tracing::warn!(shard, error = %e, "proposing the initial placement");
                    return false;
                }
            }
        }
        false
    }

    async fn join_cluster(&self, url: &str) {
        match self.meta.is_initialized().await {
            Ok(true) => {
                tracing::info!(node = self.id(), "already a member; not joining again");
                return;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "meta group stopped before joining");
                return;
            }
        }
        let request = JoinRequest {
            node_id: self.id(),
            url: self.config.advertise_url.clone(),
            forwarded: false,
        };
        let body = match postcard::to_stdvec(&request) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::error!(error = %e, "encoding the join request");
                return;
            }
        };
        loop {
            let reply = self
                .transport
                .post(
                    url,
                    InternalPath::ClusterJoin.to_string(),
                    body.clone(),
                    MEMBERSHIP_TIMEOUT,
                )
                .await;
            match reply.map(|bytes| postcard::from_bytes::<Result<(), Refusal>>(&bytes)) {
                Ok(Ok(Ok(()))) => {
                    tracing::info!(node = self.id(), via = url, "joined the cluster");
                    return;
                }
                Ok(Ok(Err(refusal))) => {
                    tracing::warn!(via = url, %refusal, "join refused; retrying")
                }
                Ok(Err(e)) => tracing::warn!(via = url, error = %e, "bad join reply; retrying"),
                Err(e) => tracing::warn!(via = url, error = %e, "join failed; retrying"),
            }
            tokio::select! {
                () = self.stopped() => return,
                () = tokio::time::sleep(MEMBERSHIP_RETRY) => {}
            }
        }
    }

    /// Serve `/internal/cluster/join`: route a new node's request to the meta leader, or
    /// carry it out when this node leads.
    pub(crate) async fn handle_join(&self, request: JoinRequest) -> Result<(), Refusal> {
        if request.forwarded {
            return self.leader_join(&request).await;
        }
        let forwarded = JoinRequest {
            forwarded: true,
            ..request.clone()
        };
        let body = Bytes::from(
            postcard::to_stdvec(&forwarded).map_err(|e| Refusal::Invalid(e.to_string()))?,
        );
        let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
        self.at_meta_leader(InternalPath::ClusterJoin, body, deadline, || {
            self.leader_join(&request)
        })
        .await
    }

    async fn leader_join(&self, request: &JoinRequest) -> Result<(), Refusal> {
        let metrics = self.meta.metrics().borrow().clone();
        if metrics.current_leader != Some(self.id()) {
            return Err(Refusal::NotLeader {
                leader: metrics.current_leader,
            });
        }
        let node = request.node_id;
        let membership = metrics.membership_config.membership().clone();
        if let Some(known) = membership.get_node(&node) {
            if known.http_addr != request.url {
                return Err(Refusal::Invalid(format!(
                    "node {node} is already a member at {}",
                    known.http_addr
                )));
            }
        } else {
            // Blocking: returns once the learner has caught up with the meta log.
            let added = self
                .meta
                .add_learner(node, PeerNode::new(&request.url), true);
            tokio::time::timeout(MEMBERSHIP_TIMEOUT, added)
                .await
                .map_err(|_| Refusal::Timeout)?
                .map_err(refusal_of)?;
            tracing::info!(node, url = %request.url, "added node as meta learner");
        }
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        if !voters.contains(&node) && voters.len() < MAX_META_VOTERS {
            let promote = self
                .meta
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node])), true);
            tokio::time::timeout(MEMBERSHIP_TIMEOUT, promote)
                .await
                .map_err(|_| Refusal::Timeout)?
                .map_err(refusal_of)?;
            tracing::info!(node, "promoted node to meta voter");
        }
        Ok(())
    }

    pub(crate) async fn routed_remove_node(&self, node: NodeId) -> Result<(), AdminError> {
        let known = self
            .meta
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&node)
            .is_some();
        if !known {
            return Err(AdminError::UnknownNode { node });
        }
        let body = Bytes::from(
            postcard::to_stdvec(&RemoveRequest { node })
                .map_err(|e| AdminError::Refused(e.to_string()))?,
        );
        let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
        self.at_meta_leader(InternalPath::ClusterRemove, body, deadline, || {
            self.leader_remove(node)
        })
        .await
        .map_err(|refusal| match refusal {
            Refusal::Invalid(reason) => AdminError::Refused(reason),
            Refusal::Timeout => AdminError::Timeout,
            Refusal::NotLeader { .. } | Refusal::Unavailable(_) | Refusal::Fatal(_) => {
                AdminError::Unavailable(refusal.to_string())
            }
        })
    }

    /// Serve a removal at the meta leader.
    pub(crate) async fn leader_remove(&self, node: NodeId) -> Result<(), Refusal> {
        let metrics = self.meta.metrics().borrow().clone();
        if metrics.current_leader != Some(self.id()) {
            return Err(Refusal::NotLeader {
                leader: metrics.current_leader,
            });
        }
        let membership = metrics.membership_config.membership().clone();
        if membership.get_node(&node).is_none() {
            return Err(Refusal::Invalid(format!("node {node} is not a member")));
        }
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        if voters.len() == 1 && voters.contains(&node) {
            return Err(Refusal::Invalid(format!(
                "node {node} is the cluster's only voter"
            )));
        }
        let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
        self.leader_propose_meta(MetaCommand::RemoveNode { node }, deadline)
            .await?;
        tracing::info!(node, "node marked leaving");
        self.leader_forget(node, deadline).await
    }

    /// At the meta leader, finish removing `node` if no placement names it any more: clear its
    /// leaving mark and take it out of the meta group (promoting a learner in its place when it
    /// was a voter). While it still holds replicas nothing changes: the removal driver moves
    /// them and calls this again.
    pub(crate) async fn leader_forget(
        &self,
        node: NodeId,
        deadline: Instant,
    ) -> Result<(), Refusal> {
        match self
            .leader_propose_meta(MetaCommand::NodeRemoved { node }, deadline)
            .await?
        {
            MetaOutcome::NodeStillPlaced { shards, .. } => {
                tracing::info!(
                    node,
                    ?shards,
                    "node keeps its meta membership until its replicas move"
                );
                return Ok(());
            }
            outcome => tracing::debug!(node, ?outcome, "node removal recorded"),
        }
        let membership = self
            .meta
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .clone();
        if membership.get_node(&node).is_none() {
            return Ok(());
        }
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        if voters.contains(&node) {
            let leaving = self.meta_state.borrow().leaving.clone();
            let replacement = membership
                .learner_ids()
                .find(|learner| !leaving.contains(learner));
            if let Some(learner) = replacement {
                let promote = self
                    .meta
                    .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([learner])), true);
                tokio::time::timeout_at(deadline, promote)
                    .await
                    .map_err(|_| Refusal::Timeout)?
                    .map_err(refusal_of)?;
            }
        }
        let change = if voters.contains(&node) {
            ChangeMembers::RemoveVoters(BTreeSet::from([node]))
        } else {
            ChangeMembers::RemoveNodes(BTreeSet::from([node]))
        };
        tokio::time::timeout_at(deadline, self.meta.change_membership(change, false))
            .await
            .map_err(|_| Refusal::Timeout)?
            .map_err(refusal_of)?;
        tracing::info!(node, "node removed from the meta group");
        Ok(())
    }
}
