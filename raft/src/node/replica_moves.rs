//! Carrying out node removals: whichever node leads the meta group runs the steps that
//! [`rebalance::plan`](crate::rebalance::plan) derives from the meta state, one at a time.
//!
//! Moving `shard`'s replica from `from` to `to`:
//! 1. `to` starts an empty replica of the shard (`shard/{s}/host`);
//! 2. the shard's leader adds it as a learner, waits until it has caught up (from the log, or
//!    from a snapshot when the log was purged), and then replaces `from` by it among the voters
//!    (`shard/{s}/replace`), so the group never has fewer caught-up voters than before;
//! 3. the placement is updated, so `to` hosts the shard after a restart and `from` does not;
//! 4. `from` is asked to stop its replica (`shard/{s}/drop`). Best effort: a node being removed
//!    is often down already, and a replica the group no longer replicates to is inert.
//!
//! Every step is idempotent and the plan is recomputed from the meta state before each one, so
//! a removal interrupted by a crash or a meta leader change is resumed by the next leader.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::ChangeMembers;
use tokio::time::Instant;

use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::network::messages::{NewReplica, Refusal, ReplicaChange};
use crate::network::path::InternalPath;
use crate::node::meta_client::refusal_of;
use crate::node::{Node, RETRY_PAUSE};
use crate::rebalance::plan::{next_step, replaced, Move, Step};
use crate::type_config::{NodeId, PeerNode};

/// How long one replica change may take at the shard's leader: a new replica catching up
/// through a snapshot of a large shard included.
pub(crate) const REPLICA_CHANGE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the driver looks for work when the meta state does not change, and waits after a
/// failed step.
const RECHECK_EVERY: Duration = Duration::from_secs(1);

impl Node {
    /// Background task on every node; it acts only while the node leads the meta group.
    pub(crate) async fn drive_removals(self: Arc<Self>) {
        let mut changes = self.meta_state.clone();
        loop {
            changes.borrow_and_update();
            let progressed = match self.removal_step().await {
                Ok(progressed) => progressed,
                Err(refusal) => {
                    tracing::warn!(%refusal, "node removal step failed; retrying");
                    false
                }
            };
            if progressed {
                continue;
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = self.stopped() => return,
                () = tokio::time::sleep(RECHECK_EVERY) => {}
            }
        }
    }

    /// Carry out the next step of a removal if this node leads the meta group; true if a step
    /// was taken.
    async fn removal_step(&self) -> Result<bool, Refusal> {
        let metrics = self.meta.metrics().borrow().clone();
        if metrics.current_leader != Some(self.id()) {
            return Ok(false);
        }
        let members: Vec<NodeId> = metrics
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        let state = self.meta_state.borrow().clone();
        let deadline = Instant::now() + REPLICA_CHANGE_TIMEOUT;
        match next_step(&state, &members) {
            Step::Idle => return Ok(false),
            Step::Move(replica_move) => {
                let placement = state.placement(replica_move.shard).unwrap_or_default();
                self.move_replica(replica_move, placement, deadline).await?;
            }
            Step::Shrink { shard, from } => {
                tracing::warn!(
                    shard,
                    from,
                    "no member can take the replica: the shard loses one"
                );
                let change = ReplicaChange {
                    remove: from,
                    add: None,
                };
                self.replace_at_shard_leader(shard, &change, deadline)
                    .await?;
                let placement = state.placement(shard).unwrap_or_default();
                let replicas = placement.iter().copied().filter(|n| *n != from).collect();
                self.place(shard, replicas, deadline).await?;
                self.stop_moved_replica(from, shard, deadline).await;
            }
            Step::Forget(node) => self.leader_forget(node, deadline).await?,
        }
        Ok(true)
    }

    async fn move_replica(
        &self,
        Move { shard, from, to }: Move,
        placement: &[NodeId],
        deadline: Instant,
    ) -> Result<(), Refusal> {
        tracing::info!(shard, from, to, "moving shard replica");
        let url = self
            .peer_url(to)
            .ok_or_else(|| Refusal::Unavailable(format!("no address known for node {to}")))?;
        if to == self.id() {
            self.host_moved_in(shard).await?;
        } else {
            self.call_peer::<()>(to, InternalPath::ShardHost(shard), Bytes::new(), deadline)
                .await?;
        }
        let change = ReplicaChange {
            remove: from,
            add: Some(NewReplica { node: to, url }),
        };
        self.replace_at_shard_leader(shard, &change, deadline)
            .await?;
        self.place(shard, replaced(placement, from, to), deadline)
            .await?;
        self.stop_moved_replica(from, shard, deadline).await;
        tracing::info!(shard, from, to, "moved shard replica");
        Ok(())
    }

    async fn place(
        &self,
        shard: u32,
        replicas: Vec<NodeId>,
        deadline: Instant,
    ) -> Result<(), Refusal> {
        match self
            .leader_propose_meta(MetaCommand::SetShardPlacement { shard, replicas }, deadline)
            .await?
        {
            MetaOutcome::Placed { .. } => Ok(()),
            other => Err(Refusal::Fatal(format!(
                "placement of shard {shard} refused: {other:?}"
            ))),
        }
    }

    /// Serve `shard/{s}/host`: start an empty replica that the shard's leader is about to add
    /// as a learner (it is not placed here yet, so the placement watcher would not).
    pub(crate) async fn host_moved_in(&self, shard: u32) -> Result<(), Refusal> {
        if shard == 0 || shard > self.shards() {
            return Err(Refusal::Invalid(format!(
                "no shard {shard} (the cluster has {})",
                self.shards()
            )));
        }
        self.host_shard(shard, None)
            .await
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    /// Ask `node` to stop its replica of `shard`, once the group no longer counts it.
    async fn stop_moved_replica(&self, node: NodeId, shard: u32, deadline: Instant) {
        let stopped = if node == self.id() {
            Ok(self.drop_shard(shard).await)
        } else {
            self.call_peer::<bool>(node, InternalPath::ShardDrop(shard), Bytes::new(), deadline)
                .await
        };
        if let Err(refusal) = stopped {
            tracing::info!(node, shard, %refusal, "could not stop the moved replica (node down?)");
        }
    }

    /// Route `change` to `shard`'s leader, following leader changes until `deadline`.
    async fn replace_at_shard_leader(
        &self,
        shard: u32,
        change: &ReplicaChange,
        deadline: Instant,
    ) -> Result<(), Refusal> {
        let body =
            Bytes::from(postcard::to_stdvec(change).map_err(|e| Refusal::Invalid(e.to_string()))?);
        let mut target = self.write_target(shard);
        let mut last = Refusal::Unavailable(format!("shard {shard} has no known replica"));
        while Instant::now() < deadline {
            let Some(node) = target else {
                tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                target = self.write_target(shard);
                continue;
            };
            let result = if node == self.id() {
                self.leader_replace(shard, change, deadline).await
            } else {
                let path = InternalPath::ShardReplace(shard);
                self.call_peer::<()>(node, path, body.clone(), deadline)
                    .await
            };
            match result {
                Ok(()) => return Ok(()),
                Err(refusal @ (Refusal::Invalid(_) | Refusal::Fatal(_))) => return Err(refusal),
                Err(Refusal::NotLeader {
                    leader: Some(leader),
                }) if leader != node => {
                    self.leaders.set(shard, Some(leader));
                    target = Some(leader);
                }
                Err(refusal) => {
                    last = refusal;
                    target = self.next_candidate(shard, node);
                    tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                }
            }
        }
        Err(last)
    }

    /// Serve `shard/{s}/replace` at the shard's leader. Idempotent: a replica already added is
    /// not added again, and a replica already gone is not removed again.
    pub(crate) async fn leader_replace(
        &self,
        shard: u32,
        change: &ReplicaChange,
        deadline: Instant,
    ) -> Result<(), Refusal> {
        let Some(raft) = self.group_raft(crate::group::GroupId::shard(shard)) else {
            return Err(Refusal::NotLeader {
                leader: self.leaders.get(shard),
            });
        };
        let metrics = raft.metrics().borrow().clone();
        if metrics.current_leader != Some(self.id()) {
            return Err(Refusal::NotLeader {
                leader: metrics.current_leader,
            });
        }
        let membership = metrics.membership_config.membership().clone();
        let mut voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let mut changed = false;
        if let Some(add) = &change.add {
            if !voters.contains(&add.node) {
                // Blocking: returns once the learner's log has caught up with the leader's.
                let added = raft.add_learner(add.node, PeerNode::new(&add.url), true);
                tokio::time::timeout_at(deadline, added)
                    .await
                    .map_err(|_| Refusal::Timeout)?
                    .map_err(refusal_of)?;
                tracing::info!(shard, node = add.node, "new replica caught up as a learner");
                voters.insert(add.node);
                changed = true;
            }
        }
        changed |= voters.remove(&change.remove);
        if voters.is_empty() {
            return Err(Refusal::Invalid(format!(
                "removing node {} would leave shard {shard} without a replica",
                change.remove
            )));
        }
        if changed {
            let replace = raft.change_membership(ChangeMembers::ReplaceAllVoters(voters), false);
            tokio::time::timeout_at(deadline, replace)
                .await
                .map_err(|_| Refusal::Timeout)?
                .map_err(refusal_of)?;
            tracing::info!(shard, removed = change.remove, added = ?change.add.as_ref().map(|a| a.node), "shard replicas changed");
        }
        Ok(())
    }
}
