//! The commands the meta group replicates and what applying each one reports.
//!
//! Membership itself is not a command: it travels as openraft membership entries. These are the
//! cluster facts layered on top of it that every node must agree on.

use serde::{Deserialize, Serialize};

use crate::type_config::NodeId;

/// A change to the meta group's replicated state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    /// Place shard `shard` on `replicas` (first = preferred leader). Replaces the previous
    /// placement, so a re-placement after a node removal is one atomic step.
    SetShardPlacement {
        /// The shard (1-based, as its Raft group id).
        shard: u32,
        /// The nodes holding a replica; non-empty, no duplicates.
        replicas: Vec<NodeId>,
    },
    /// Record that `agent`'s `queue` has been committed up to WAL position `last`. The high-water
    /// mark only moves forward, so replays and reordered proposals cannot move it back.
    RecordAgentHighWater {
        /// The agent's stable name.
        agent: String,
        /// The agent's remote-write queue.
        queue: String,
        /// The last WAL position committed.
        last: u64,
    },
}

/// What applying a [`MetaCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaOutcome {
    /// The placement was recorded; `previous` is the placement it replaced, if any.
    Placed {
        /// The replicas the shard had before.
        previous: Option<Vec<NodeId>>,
    },
    /// The placement was refused (empty or duplicated replica list) and nothing changed.
    /// Proposers validate first; this keeps the state machine total on any input.
    InvalidPlacement {
        /// The shard whose placement was refused.
        shard: u32,
    },
    /// The agent's high-water mark after the command: `max(previous, last)`.
    HighWater {
        /// The high-water mark now stored.
        last: u64,
        /// Whether this command moved it forward.
        advanced: bool,
    },
}
