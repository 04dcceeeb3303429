//! The shard replicas this node hosts: one openraft instance per shard placed here.
//!
//! A background task watches the meta group's placement and starts a replica for every shard
//! newly placed on this node. A replica of the initial placement whose first replica is this
//! node initialises its group (all placed replicas as voters) if the group is brand new; any
//! other replica starts empty and waits for the shard's leader to add it, so a re-placement
//! can never create a second group for a shard.
//!
//! [`Node::host_shard`] and [`Node::drop_shard`] are the two runtime operations the placement
//! logic builds on. Dropping stops the replica's Raft; its data stays in the TSDB and the Raft
//! database until the shard's range is deleted.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use openraft::Raft;

use crate::group::GroupId;
use crate::meta::state::MetaState;
use crate::network::raft_network::GroupNetworkFactory;
use crate::node::error::NodeError;
use crate::node::placement::initial_placement;
use crate::node::raft_config::{election_slot, raft_config};
use crate::node::{snapshot_dir, Node};
use crate::shard::ShardStateMachine;
use crate::type_config::{NodeId, PeerNode};

/// How often the placement is re-checked even without a change (to retry a replica whose
/// start failed).
const RECHECK_EVERY: Duration = Duration::from_secs(2);

impl Node {
    /// Background task: start replicas for shards placed on this node.
    pub(crate) async fn watch_placements(self: Arc<Self>) {
        let mut placements = self.meta_state.clone();
        loop {
            let state = placements.borrow_and_update().clone();
            self.start_placed_replicas(&state).await;
            tokio::select! {
                changed = placements.changed() => if changed.is_err() { return },
                () = self.stopped() => return,
                () = tokio::time::sleep(RECHECK_EVERY) => {}
            }
        }
    }

    async fn start_placed_replicas(&self, state: &MetaState) {
        let hosted = self.hosted_replicas();
        for (shard, replicas) in &state.placements {
            if !replicas.contains(&self.id()) || hosted.contains_key(shard) {
                continue;
            }
            if *shard > self.shards() {
                tracing::error!(
                    shard,
                    shards = self.shards(),
                    "placement names a shard beyond --shards; not hosting it"
                );
                continue;
            }
            let initialize_with = self.bootstrap_members(*shard, replicas);
            if let Err(e) = self.host_shard(*shard, initialize_with).await {
                tracing::error!(shard, error = %e, "starting shard replica");
            }
        }
    }

    /// The members to initialise `shard`'s group with, if this node must do it: a node of a
    /// new cluster (not joining), first replica of the shard's initial placement.
    fn bootstrap_members(
        &self,
        shard: u32,
        placement: &[NodeId],
    ) -> Option<BTreeMap<NodeId, PeerNode>> {
        if self.config.join.is_some() || placement.first() != Some(&self.id()) {
            return None;
        }
        let initial: Vec<NodeId> = self.config.initial_cluster.keys().copied().collect();
        if initial_placement(shard, &initial, self.config.replication_factor) != placement {
            return None;
        }
        placement
            .iter()
            .map(|node| {
                let url = self.config.initial_cluster.get(node)?;
                Some((*node, PeerNode::new(url)))
            })
            .collect()
    }

    /// Start this node's replica of `shard` (no-op if it runs already). With
    /// `initialize_with`, a brand-new group is initialised with those voters; an existing
    /// group (this node's log or vote is not empty) is never initialised again.
    pub async fn host_shard(
        &self,
        shard: u32,
        initialize_with: Option<BTreeMap<NodeId, PeerNode>>,
    ) -> Result<(), NodeError> {
        let _changing = self.replica_changes.lock().await;
        if self.group_raft(GroupId::shard(shard)).is_some() {
            return Ok(());
        }
        let tsdb = Arc::clone(&self.tsdb);
        let raft_db = Arc::clone(&self.raft_db);
        let snapshots = snapshot_dir(&self.config);
        let state_machine = tokio::task::spawn_blocking(move || {
            ShardStateMachine::open(tsdb, raft_db, shard, snapshots)
        })
        .await
        .map_err(|e| NodeError::Shard {
            shard,
            reason: e.to_string(),
        })?
        .map_err(|e| NodeError::Shard {
            shard,
            reason: e.to_string(),
        })?;
        let unsnapshotted = state_machine.unsnapshotted_samples();
        let group = GroupId::shard(shard);
        let slot = match self.meta_state.borrow().placement(shard) {
            Some(placement) => election_slot(placement, self.id()),
            None => 0,
        };
        let raft = Raft::new(
            self.id(),
            raft_config(slot)?,
            GroupNetworkFactory::new(group, self.id(), Arc::clone(&self.transport)),
            self.raft_db.group(group),
            state_machine,
        )
        .await
        .map_err(|e| NodeError::Raft {
            group: group.to_string(),
            reason: e.to_string(),
        })?;
        if let Some(members) = initialize_with {
            match raft.is_initialized().await {
                Ok(false) => match raft.initialize(members).await {
                    Ok(()) => tracing::info!(shard, "initialised shard group"),
                    Err(e) => tracing::info!(shard, error = %e, "shard group not initialised here"),
                },
                Ok(true) => {}
                Err(e) => {
                    return Err(NodeError::Raft {
                        group: group.to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        self.replicas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(shard, raft);
        self.watch_snapshot_size(shard, unsnapshotted);
        tracing::info!(shard, node = self.id(), "hosting shard replica");
        Ok(())
    }

    /// Stop this node's replica of `shard`; true if one was running. Remove the replica from
    /// the shard group's membership first, or the group counts a dead voter.
    pub async fn drop_shard(&self, shard: u32) -> bool {
        let _changing = self.replica_changes.lock().await;
        let removed = self
            .replicas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&shard);
        let Some(raft) = removed else {
            return false;
        };
        self.unwatch_snapshot_size(shard);
        if let Err(e) = raft.shutdown().await {
            tracing::warn!(shard, error = %e, "shard replica did not stop cleanly");
        }
        tracing::info!(shard, node = self.id(), "stopped shard replica");
        true
    }
}
