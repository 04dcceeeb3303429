//! Raft group identity: which of the node's many Raft groups a log, vote or state belongs to.
//!
//! One node runs the meta group and a replica of several shard groups, all persisting into one
//! RocksDB instance. Every persisted key is prefixed by the group id, so a newtype (rather than a
//! bare `u32`) keeps shard indexes, node ids and group ids from being mixed up at call sites.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of one Raft group on this node: `0` is the meta group, `1..=S` the shard groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub u32);

impl GroupId {
    /// The meta group (membership, shard placement, agent registry), replicated on every node.
    pub const META: GroupId = GroupId(0);

    /// The group id of shard `shard` (shards are numbered from 1; the meta group is 0).
    pub fn shard(shard: u32) -> GroupId {
        GroupId(shard)
    }

    /// Big-endian bytes: the key prefix of everything this group persists, so one group's keys
    /// are contiguous and sort by group.
    pub fn to_be_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == GroupId::META {
            f.write_str("meta")
        } else {
            write!(f, "shard-{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_sort_by_group() {
        assert!(GroupId::META.to_be_bytes() < GroupId::shard(1).to_be_bytes());
        assert!(GroupId::shard(255).to_be_bytes() < GroupId::shard(256).to_be_bytes());
    }

    #[test]
    fn display_names_meta_and_shards() {
        assert_eq!(GroupId::META.to_string(), "meta");
        assert_eq!(GroupId::shard(7).to_string(), "shard-7");
    }
}
