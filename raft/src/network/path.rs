//! The internal RPC routes, under `/internal/`: parsed once here so the dispatcher and the
//! clients cannot disagree on spelling.
//!
//! | path | body | reply |
//! | --- | --- | --- |
//! | `raft/{group}/append` | `AppendEntriesRequest` | `Result<AppendEntriesResponse, RaftError>` |
//! | `raft/{group}/vote` | `VoteRequest` | `Result<VoteResponse, RaftError>` |
//! | `raft/{group}/snapshot` | `InstallSnapshotRequest` (one chunk) | `Result<InstallSnapshotResponse, RaftError<InstallSnapshotError>>` |
//! | `shard/{shard}/write` | `ShardWrite` | `Result<Vec<WriteOutcome>, Refusal>` |
//! | `shard/{shard}/select` | `SelectRequest` | `Result<Vec<SeriesSamples>, Refusal>` |
//! | `shard/{shard}/status` | empty | `Result<GroupStatus, Refusal>` (shard 0: the meta group) |
//! | `shard/{shard}/host` | empty | `Result<(), Refusal>`: start an empty replica to be added |
//! | `shard/{shard}/replace` | `ReplicaChange` | `Result<(), Refusal>`, at the shard's leader |
//! | `shard/{shard}/drop` | empty | `Result<bool, Refusal>`: stop a replica moved away |
//! | `cluster/join` | `JoinRequest` | `Result<(), Refusal>` |
//! | `cluster/remove` | `RemoveRequest` | `Result<(), Refusal>` |
//! | `meta/propose` | `MetaCommand` | `Result<MetaOutcome, Refusal>` |
//! | `metadata` | tenant (`String`) | `Result<Vec<MetricMetadata>, Refusal>`: this node's entries |
//!
//! `{group}` is the numeric group id (0 = meta). Every body and reply is postcard.

use std::fmt;

use crate::group::GroupId;

/// One of Raft's RPCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftRpc {
    /// AppendEntries (also heartbeats).
    Append,
    /// RequestVote.
    Vote,
    /// One chunk of InstallSnapshot.
    Snapshot,
}

/// A parsed internal route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalPath {
    /// A Raft RPC for `group`.
    Raft {
        /// The group addressed.
        group: GroupId,
        /// Which RPC.
        rpc: RaftRpc,
    },
    /// A group-committed write forwarded to the shard's leader.
    ShardWrite(u32),
    /// A linearizable read forwarded to the shard's leader.
    ShardSelect(u32),
    /// The shard group's status, asked of its leader.
    ShardStatus(u32),
    /// Start an empty replica of the shard, which its leader is about to add.
    ShardHost(u32),
    /// Change the shard group's replicas, at its leader.
    ShardReplace(u32),
    /// Stop a replica that was moved away.
    ShardDrop(u32),
    /// A new node asking to be added to the cluster.
    ClusterJoin,
    /// Removing a node, at the meta leader.
    ClusterRemove,
    /// A meta command forwarded to the meta leader.
    MetaPropose,
    /// The metric metadata this node holds for a tenant.
    Metadata,
}

impl InternalPath {
    /// Parse a path without the `/internal/` prefix; `None` for an unknown route.
    pub fn parse(path: &str) -> Option<InternalPath> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["raft", group, rpc] => {
                let group = GroupId(group.parse().ok()?);
                let rpc = match *rpc {
                    "append" => RaftRpc::Append,
                    "vote" => RaftRpc::Vote,
                    "snapshot" => RaftRpc::Snapshot,
                    _ => return None,
                };
                Some(InternalPath::Raft { group, rpc })
            }
            ["shard", shard, op] => {
                let shard: u32 = shard.parse().ok()?;
                match *op {
                    "write" => Some(InternalPath::ShardWrite(shard)),
                    "select" => Some(InternalPath::ShardSelect(shard)),
                    "status" => Some(InternalPath::ShardStatus(shard)),
                    "host" => Some(InternalPath::ShardHost(shard)),
                    "replace" => Some(InternalPath::ShardReplace(shard)),
                    "drop" => Some(InternalPath::ShardDrop(shard)),
                    _ => None,
                }
            }
            ["cluster", "join"] => Some(InternalPath::ClusterJoin),
            ["cluster", "remove"] => Some(InternalPath::ClusterRemove),
            ["meta", "propose"] => Some(InternalPath::MetaPropose),
            ["metadata"] => Some(InternalPath::Metadata),
            _ => None,
        }
    }
}

impl fmt::Display for InternalPath {
    /// The path without the `/internal/` prefix, as [`InternalPath::parse`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InternalPath::Raft { group, rpc } => {
                let rpc = match rpc {
                    RaftRpc::Append => "append",
                    RaftRpc::Vote => "vote",
                    RaftRpc::Snapshot => "snapshot",
                };
                write!(f, "raft/{}/{rpc}", group.0)
            }
            InternalPath::ShardWrite(shard) => write!(f, "shard/{shard}/write"),
            InternalPath::ShardSelect(shard) => write!(f, "shard/{shard}/select"),
            InternalPath::ShardStatus(shard) => write!(f, "shard/{shard}/status"),
            InternalPath::ShardHost(shard) => write!(f, "shard/{shard}/host"),
            InternalPath::ShardReplace(shard) => write!(f, "shard/{shard}/replace"),
            InternalPath::ShardDrop(shard) => write!(f, "shard/{shard}/drop"),
            InternalPath::ClusterJoin => f.write_str("cluster/join"),
            InternalPath::ClusterRemove => f.write_str("cluster/remove"),
            InternalPath::MetaPropose => f.write_str("meta/propose"),
            InternalPath::Metadata => f.write_str("metadata"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_round_trips() {
        let routes = [
            InternalPath::Raft {
                group: GroupId::META,
                rpc: RaftRpc::Vote,
            },
            InternalPath::Raft {
                group: GroupId::shard(12),
                rpc: RaftRpc::Append,
            },
            InternalPath::Raft {
                group: GroupId::shard(3),
                rpc: RaftRpc::Snapshot,
            },
            InternalPath::ShardWrite(7),
            InternalPath::ShardSelect(1),
            InternalPath::ShardStatus(16),
            InternalPath::ShardHost(2),
            InternalPath::ShardReplace(3),
            InternalPath::ShardDrop(4),
            InternalPath::ClusterJoin,
            InternalPath::ClusterRemove,
            InternalPath::MetaPropose,
            InternalPath::Metadata,
        ];
        for route in routes {
            assert_eq!(InternalPath::parse(&route.to_string()), Some(route));
        }
        assert_eq!(InternalPath::parse("raft/0/vote").unwrap(), routes[0]);
    }

    #[test]
    fn unknown_routes_are_refused() {
        for path in [
            "",
            "raft/x/vote",
            "raft/1/elect",
            "shard/1",
            "shard/-1/write",
            "meta",
        ] {
            assert_eq!(InternalPath::parse(path), None, "{path}");
        }
    }
}
