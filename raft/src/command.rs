//! The application payload of a Raft log entry (openraft's `D`) and the result of applying it
//! (openraft's `R`).
//!
//! One enum for every group keeps a single openraft type configuration, a single log encoding
//! and a single peer network for the meta group and the shard groups alike. A state machine that
//! receives a command belonging to another kind of group answers [`Response::Misrouted`] and
//! changes nothing: apply must be total and deterministic on every replica.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::write_batch::{WriteBatch, WriteOutcome};

/// A replicated command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Samples for a shard group: one or several requests' parts for that shard. Shared, so
    /// that the copies openraft makes of an entry (one per follower it replicates to, and the
    /// one it applies) share one payload; encoded as the `ShardWrite` itself.
    Write(Arc<ShardWrite>),
    /// A change to the meta group's state.
    Meta(MetaCommand),
    /// Retention for a shard group: delete the data older than `before_ms`. A command rather
    /// than each replica's own timer, so every replica cuts at the same time and the same log
    /// position, and replicas and snapshots never disagree about what is kept.
    DeleteBefore {
        /// The cut, in milliseconds since the epoch.
        before_ms: i64,
    },
}

/// Group commit: the parts of several concurrent requests bound for one shard, in one Raft
/// entry, so one quorum round trip and one fsync serve them all.
///
/// The batches are applied in order, each on its own (its own dedup identity, its own
/// outcome); a batch repeated inside one entry (a retry that raced its original into the same
/// proposal) is applied once, like one repeated across entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardWrite {
    /// The requests' parts, in the order their proposers queued them.
    pub batches: Vec<WriteBatch>,
}

/// The result of applying one log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The entry carried no command (a leader's blank entry or a membership change).
    Empty,
    /// A shard group applied a [`ShardWrite`]: one outcome per batch, in the batches' order.
    Written(Vec<WriteOutcome>),
    /// A meta command was applied by the meta group.
    Meta(MetaOutcome),
    /// A shard group applied [`Command::DeleteBefore`].
    Deleted {
        /// Everything before this time (ms) is gone (the cut, rounded down to a partition).
        deleted_before: i64,
        /// Series left without data and removed from the index.
        series_removed: u64,
    },
    /// The command was proposed to a group whose state machine does not apply it; nothing
    /// changed.
    Misrouted,
}
