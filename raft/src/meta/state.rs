//! The meta group's replicated data, and the pure function that applies a command to it.
//!
//! Kept free of openraft and IO so the rules (placement validation, the high-water mark only
//! moving forward) are unit-tested by comparing outcomes; `state_machine.rs` wraps it with
//! openraft's bookkeeping (last applied, membership, snapshots).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::type_config::NodeId;

/// Everything the meta group agrees on besides membership. Ordered maps, so that a snapshot's
/// bytes are the same on every replica for the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    /// Shard -> replica nodes (first = preferred leader).
    pub placements: BTreeMap<u32, Vec<NodeId>>,
    /// (agent, queue) -> last committed WAL position.
    pub agent_high_water: BTreeMap<(String, u32), u64>,
    /// Nodes being removed: no new replica goes there, their shards are being moved away.
    pub leaving: BTreeSet<NodeId>,
}

impl MetaState {
    /// Apply `command`, returning what it did. Total: every input yields an outcome.
    pub fn apply(&mut self, command: &MetaCommand) -> MetaOutcome {
        match command {
            MetaCommand::SetShardPlacement { shard, replicas } => {
                let distinct: BTreeSet<&NodeId> = replicas.iter().collect();
                if replicas.is_empty() || distinct.len() != replicas.len() {
                    return MetaOutcome::InvalidPlacement { shard: *shard };
                }
                let previous = self.placements.insert(*shard, replicas.clone());
                MetaOutcome::Placed { previous }
            }
            MetaCommand::RecordAgentHighWater { agent, queue, last } => {
                let stored = self
                    .agent_high_water
                    .entry((agent.clone(), *queue))
                    .or_insert(0);
                let advanced = *last > *stored;
                if advanced {
                    *stored = *last;
                }
                MetaOutcome::HighWater {
                    last: *stored,
                    advanced,
                }
            }
            MetaCommand::RemoveNode { node } => MetaOutcome::NodeLeaving {
                node: *node,
                newly: self.leaving.insert(*node),
            },
            MetaCommand::NodeRemoved { node } => {
                let shards = self.shards_on(*node);
                if !shards.is_empty() {
                    return MetaOutcome::NodeStillPlaced {
                        node: *node,
                        shards,
                    };
                }
                MetaOutcome::NodeRemoved {
                    node: *node,
                    was_leaving: self.leaving.remove(node),
                }
            }
        }
    }

    /// The shards with a replica on `node`, ascending.
    pub fn shards_on(&self, node: NodeId) -> Vec<u32> {
        self.placements
            .iter()
            .filter(|(_, replicas)| replicas.contains(&node))
            .map(|(shard, _)| *shard)
            .collect()
    }

    /// Whether `node` is being removed.
    pub fn is_leaving(&self, node: NodeId) -> bool {
        self.leaving.contains(&node)
    }

    /// The replicas of `shard`, if it has been placed.
    pub fn placement(&self, shard: u32) -> Option<&[NodeId]> {
        self.placements.get(&shard).map(Vec::as_slice)
    }

    /// The committed high-water mark of `agent`'s `queue`, if it has reported one.
    pub fn agent_high_water(&self, agent: &str, queue: u32) -> Option<u64> {
        self.agent_high_water
            .get(&(agent.to_owned(), queue))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(shard: u32, replicas: &[NodeId]) -> MetaCommand {
        MetaCommand::SetShardPlacement {
            shard,
            replicas: replicas.to_vec(),
        }
    }

    fn high_water(last: u64) -> MetaCommand {
        MetaCommand::RecordAgentHighWater {
            agent: "edge-1".into(),
            queue: 0,
            last,
        }
    }

    #[test]
    fn placement_replaces_and_reports_previous() {
        let mut state = MetaState::default();
        assert_eq!(
            state.apply(&place(1, &[1, 2, 3])),
            MetaOutcome::Placed { previous: None }
        );
        assert_eq!(
            state.apply(&place(1, &[4, 2, 3])),
            MetaOutcome::Placed {
                previous: Some(vec![1, 2, 3])
            }
        );
        assert_eq!(state.placement(1), Some(&[4, 2, 3][..]));
        assert_eq!(state.placement(2), None);
    }

    #[test]
    fn invalid_placements_change_nothing() {
        let mut state = MetaState::default();
        state.apply(&place(1, &[1, 2, 3]));
        assert_eq!(
            state.apply(&place(1, &[])),
            MetaOutcome::InvalidPlacement { shard: 1 }
        );
        assert_eq!(
            state.apply(&place(1, &[2, 2])),
            MetaOutcome::InvalidPlacement { shard: 1 }
        );
        assert_eq!(state.placement(1), Some(&[1, 2, 3][..]));
    }

    #[test]
    fn high_water_only_moves_forward() {
        let mut state = MetaState::default();
        assert_eq!(
            state.apply(&high_water(10)),
            MetaOutcome::HighWater {
                last: 10,
                advanced: true
            }
        );
        assert_eq!(
            state.apply(&high_water(7)),
            MetaOutcome::HighWater {
                last: 10,
                advanced: false
            }
        );
        assert_eq!(
            state.apply(&high_water(10)),
            MetaOutcome::HighWater {
                last: 10,
                advanced: false
            }
        );
        assert_eq!(state.agent_high_water("edge-1", 0), Some(10));
        assert_eq!(state.agent_high_water("edge-1", 1), None);
    }

    #[test]
    fn a_node_stays_leaving_until_no_placement_names_it() {
        let mut state = MetaState::default();
        state.apply(&place(1, &[1, 2, 3]));
        state.apply(&place(2, &[2, 3, 4]));
        assert_eq!(
            state.apply(&MetaCommand::RemoveNode { node: 3 }),
            MetaOutcome::NodeLeaving {
                node: 3,
                newly: true
            }
        );
        assert_eq!(
            state.apply(&MetaCommand::RemoveNode { node: 3 }),
            MetaOutcome::NodeLeaving {
                node: 3,
                newly: false
            }
        );
        assert!(state.is_leaving(3));
        assert_eq!(
            state.apply(&MetaCommand::NodeRemoved { node: 3 }),
            MetaOutcome::NodeStillPlaced {
                node: 3,
                shards: vec![1, 2]
            }
        );
        assert!(state.is_leaving(3));
        state.apply(&place(1, &[1, 2, 4]));
        state.apply(&place(2, &[2, 4, 1]));
        assert_eq!(state.shards_on(3), Vec::<u32>::new());
        assert_eq!(
            state.apply(&MetaCommand::NodeRemoved { node: 3 }),
            MetaOutcome::NodeRemoved {
                node: 3,
                was_leaving: true
            }
        );
        assert!(!state.is_leaving(3));
        assert_eq!(
            state.apply(&MetaCommand::NodeRemoved { node: 9 }),
            MetaOutcome::NodeRemoved {
                node: 9,
                was_leaving: false
            }
        );
    }
}
