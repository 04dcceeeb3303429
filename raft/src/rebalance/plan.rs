//! What to move next when a node leaves: a pure function of the meta state, so every step of a
//! removal can be recomputed by whichever node leads the meta group when the step runs.
//!
//! A replica on a leaving node is replaced by the member holding the fewest replicas (ties to
//! the lowest id) that is neither leaving nor already a replica of that shard. One move is
//! planned at a time: each move copies a shard to a new node (a snapshot transfer), and doing
//! them one by one keeps the cluster's spare disk and network for the writes.

use std::collections::BTreeMap;

use crate::meta::state::MetaState;
use crate::type_config::NodeId;

/// Replace `from` by `to` among the replicas of `shard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The shard whose replica moves.
    pub shard: u32,
    /// The leaving node.
    pub from: NodeId,
    /// The node receiving the new replica.
    pub to: NodeId,
}

/// What a removal needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Copy a replica away from a leaving node.
    Move(Move),
    /// A leaving node holds no replica any more: drop the mark and its meta membership.
    Forget(NodeId),
    /// A leaving node's replicas have nowhere to go (every other member already holds that
    /// shard): drop the replica without a replacement, so the shard runs with fewer replicas
    /// rather than blocking the removal.
    Shrink {
        /// The shard losing a replica.
        shard: u32,
        /// The leaving node.
        from: NodeId,
    },
    /// Nothing to do.
    Idle,
}

/// The next step for the cluster `state`, whose members (meta membership) are `members`.
pub fn next_step(state: &MetaState, members: &[NodeId]) -> Step {
    let Some(&leaving) = state.leaving.iter().next() else {
        return Step::Idle;
    };
    let Some((&shard, replicas)) = state
        .placements
        .iter()
        .find(|(_, replicas)| replicas.contains(&leaving))
    else {
        return Step::Forget(leaving);
    };
    let mut load: BTreeMap<NodeId, usize> = members
        .iter()
        .filter(|node| !state.leaving.contains(node))
        .map(|&node| (node, 0))
        .collect();
    for node in state.placements.values().flatten() {
        if let Some(count) = load.get_mut(node) {
            *count += 1;
        }
    }
    let target = load
        .iter()
        .filter(|(node, _)| !replicas.contains(node))
        .min_by_key(|(node, count)| (**count, **node))
        .map(|(&node, _)| node);
    match target {
        Some(to) => Step::Move(Move {
            shard,
            from: leaving,
            to,
        }),
        None => Step::Shrink {
            shard,
            from: leaving,
        },
    }
}

/// `replicas` with `from` replaced by `to` in the same position (so a preferred leader that
/// leaves is succeeded by its replacement's position, not reshuffled).
pub fn replaced(replicas: &[NodeId], from: NodeId, to: NodeId) -> Vec<NodeId> {
    replicas
        .iter()
        .map(|&node| if node == from { to } else { node })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(placements: &[(u32, &[NodeId])], leaving: &[NodeId]) -> MetaState {
        MetaState {
            placements: placements
                .iter()
                .map(|(shard, replicas)| (*shard, replicas.to_vec()))
                .collect(),
            leaving: leaving.iter().copied().collect(),
            ..MetaState::default()
        }
    }

    #[test]
    fn nothing_leaving_is_idle() {
        let s = state(&[(1, &[1, 2, 3])], &[]);
        assert_eq!(next_step(&s, &[1, 2, 3]), Step::Idle);
    }

    #[test]
    fn a_leaving_replica_moves_to_the_least_loaded_member() {
        let s = state(&[(1, &[1, 2, 3]), (2, &[2, 3, 4]), (3, &[3, 4, 2])], &[1]);
        // Members 2, 3 and 4 hold 3, 3 and 2 replicas; only 4 is not already in shard 1.
        assert_eq!(
            next_step(&s, &[1, 2, 3, 4]),
            Step::Move(Move {
                shard: 1,
                from: 1,
                to: 4
            })
        );
        let s = state(&[(1, &[1, 2]), (2, &[3, 2])], &[1]);
        // 3 and 4 are candidates; 4 holds nothing.
        assert_eq!(
            next_step(&s, &[1, 2, 3, 4]),
            Step::Move(Move {
                shard: 1,
                from: 1,
                to: 4
            })
        );
    }

    #[test]
    fn a_node_with_no_replica_left_is_forgotten() {
        let s = state(&[(1, &[4, 2, 3])], &[1]);
        assert_eq!(next_step(&s, &[1, 2, 3, 4]), Step::Forget(1));
    }

    #[test]
    fn without_a_candidate_the_shard_shrinks() {
        let s = state(&[(1, &[1, 2, 3])], &[1]);
        assert_eq!(
            next_step(&s, &[1, 2, 3]),
            Step::Shrink { shard: 1, from: 1 }
        );
    }

    #[test]
    fn a_leaving_node_never_receives_a_replica() {
        let s = state(&[(1, &[1, 2]), (2, &[3, 4])], &[1, 3]);
        // Only 2 and 4 may receive; 2 already holds shard 1.
        assert_eq!(
            next_step(&s, &[1, 2, 3, 4]),
            Step::Move(Move {
                shard: 1,
                from: 1,
                to: 4
            })
        );
    }

    #[test]
    fn replacement_keeps_the_position() {
        assert_eq!(replaced(&[1, 2, 3], 1, 4), [4, 2, 3]);
        assert_eq!(replaced(&[2, 1, 3], 1, 4), [2, 4, 3]);
    }
}
