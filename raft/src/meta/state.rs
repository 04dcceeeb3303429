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
    pub agent_high_water: BTreeMap<(String, String), u64>,
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
                    .entry((agent.clone(), queue.clone()))
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
        }
    }

    /// The replicas of `shard`, if it has been placed.
    pub fn placement(&self, shard: u32) -> Option<&[NodeId]> {
        self.placements.get(&shard).map(Vec::as_slice)
    }

    /// The committed high-water mark of `agent`'s `queue`, if it has reported one.
    pub fn agent_high_water(&self, agent: &str, queue: &str) -> Option<u64> {
        self.agent_high_water
            .get(&(agent.to_owned(), queue.to_owned()))
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
            queue: "q0".into(),
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
        assert_eq!(state.agent_high_water("edge-1", "q0"), Some(10));
        assert_eq!(state.agent_high_water("edge-1", "q1"), None);
    }
}
