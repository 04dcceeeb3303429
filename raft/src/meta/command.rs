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
        /// The agent's remote-write queue (as in the `X-Skyview-Batch` header).
        queue: u32,
        /// The last WAL position committed.
        last: u64,
    },
    /// Start removing `node` from the cluster: it is marked leaving, so no new replica is
    /// placed on it while its shards are moved elsewhere. Marking is idempotent.
    RemoveNode {
        /// The node to remove.
        node: NodeId,
    },
    /// Finish removing `node`: it is no longer marked leaving. Refused (nothing changes) while
    /// a placement still names the node, so the mark cannot be dropped before its replicas
    /// are moved. Two steps rather than one so a removal interrupted by a leader change is
    /// visible in the state and can be resumed by the next leader.
    NodeRemoved {
        /// The node whose removal is complete.
        node: NodeId,
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
    /// The node is marked leaving; `newly` is false when it already was.
    NodeLeaving {
        /// The node.
        node: NodeId,
        /// Whether this command added the mark.
        newly: bool,
    },
    /// The node's leaving mark was cleared; `was_leaving` is false when it had none.
    NodeRemoved {
        /// The node.
        node: NodeId,
        /// Whether the node was marked leaving.
        was_leaving: bool,
    },
    /// [`MetaCommand::NodeRemoved`] was refused because these shards are still placed on the
    /// node; nothing changed.
    NodeStillPlaced {
        /// The node.
        node: NodeId,
        /// The shards whose placement names it, ascending.
        shards: Vec<u32>,
    },
    /// The agent's high-water mark after the command: `max(previous, last)`.
    HighWater {
        /// The high-water mark now stored.
        last: u64,
        /// Whether this command moved it forward.
        advanced: bool,
    },
}
