//! The application payload of a Raft log entry (openraft's `D`) and the result of applying it
//! (openraft's `R`).
//!
//! One enum for every group keeps a single openraft type configuration, a single log encoding
//! and a single peer network for the meta group and the shard groups alike. A state machine that
//! receives a command belonging to another kind of group answers [`Response::Misrouted`] and
//! changes nothing: apply must be total and deterministic on every replica.

use serde::{Deserialize, Serialize};

use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::write_batch::{WriteBatch, WriteOutcome};

/// A replicated command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Samples for a shard group.
    Write(WriteBatch),
    /// A change to the meta group's state.
    Meta(MetaCommand),
}

/// The result of applying one log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The entry carried no command (a leader's blank entry or a membership change).
    Empty,
    /// A write batch was applied by a shard group.
    Written(WriteOutcome),
    /// A meta command was applied by the meta group.
    Meta(MetaOutcome),
    /// The command was proposed to a group whose state machine does not apply it; nothing
    /// changed.
    Misrouted,
}
