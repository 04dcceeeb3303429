//! openraft's type configuration for Skyview: what a node id, a node, a log entry and a
//! snapshot are, for the meta group and every shard group alike.
//!
//! Everything here is serde-serialisable because it is persisted (log entries, votes, snapshot
//! metadata) and sent between peers. Snapshots are byte buffers: the meta group's state is small,
//! and a shard's snapshot is streamed by the network layer in chunks anyway.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::command::{Command, Response};

/// A node's id in the cluster (`--node-id`).
pub type NodeId = u64;

/// What the cluster knows about a node: where its peers and clients reach it.
///
/// Like openraft's `BasicNode`, but named for what the address is used for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// The node's HTTP address (`--listen-address`, as `http://host:port`), for Raft RPCs and
    /// for forwarding writes to a shard's leader.
    pub http_addr: String,
}

impl PeerNode {
    /// A node reachable at `http_addr`.
    pub fn new(http_addr: impl Into<String>) -> PeerNode {
        PeerNode {
            http_addr: http_addr.into(),
        }
    }
}

openraft::declare_raft_types!(
    /// The openraft type configuration shared by all of Skyview's Raft groups.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = u64,
        Node = PeerNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
        Responder = openraft::impls::OneshotResponder<TypeConfig>,
);

/// A log entry of any Skyview group.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id (leader id + index).
pub type LogId = openraft::LogId<NodeId>;
/// A persisted vote.
pub type Vote = openraft::Vote<NodeId>;
/// A membership as stored alongside the log id that set it.
pub type StoredMembership = openraft::StoredMembership<NodeId, PeerNode>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, PeerNode>;
/// A snapshot: metadata plus a readable buffer.
pub type Snapshot = openraft::Snapshot<TypeConfig>;
/// openraft's storage error, as returned by the storage traits.
pub type StorageError = openraft::StorageError<NodeId>;
