//! Key layout of the Raft database (see `docs/raft-storage.md`).
//!
//! - `raft_log`: `group u32 BE ++ index u64 BE` (12 bytes) -> one encoded log entry. Big-endian
//!   makes RocksDB's bytewise order equal to (group, index) order, so a group's log is one
//!   contiguous range, scans are range iterations, and purge/truncate are range deletes.
//! - `raft_meta`: `group u32 BE ++ kind u8` (5 bytes) -> one encoded value per kind.

use crate::group::GroupId;

/// Column family of log entries.
pub const CF_LOG: &str = "raft_log";
/// Column family of per-group metadata (vote, committed, last purged, snapshot).
pub const CF_META: &str = "raft_meta";

/// Length of a `raft_log` key.
pub const LOG_KEY_LEN: usize = 12;

/// The kinds of per-group metadata in `raft_meta`. The discriminant is the key's last byte and is
/// part of the on-disk format: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MetaKind {
    /// The last saved vote (fsynced).
    Vote = 1,
    /// The last committed log id openraft reported (an optimisation, not fsynced).
    Committed = 2,
    /// The last purged log id: the log's lower bound once entries are deleted.
    LastPurged = 3,
    /// The group's current snapshot: metadata and data for the meta group, metadata only for a
    /// shard group (its data is the shard in the TSDB, packed when a peer needs it).
    Snapshot = 4,
}

/// The `raft_log` key of entry `index` in `group`.
pub fn log_key(group: GroupId, index: u64) -> [u8; LOG_KEY_LEN] {
    let mut key = [0u8; LOG_KEY_LEN];
    key[..4].copy_from_slice(&group.to_be_bytes());
    key[4..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The log index in a `raft_log` key of `group`, or `None` if the key is not one of its keys.
pub fn log_index(group: GroupId, key: &[u8]) -> Option<u64> {
    if key.len() != LOG_KEY_LEN || key[..4] != group.to_be_bytes() {
        return None;
    }
    let mut index = [0u8; 8];
    index.copy_from_slice(&key[4..]);
    Some(u64::from_be_bytes(index))
}

/// The exclusive upper bound of all of `group`'s `raft_log` keys: the first key of the next
/// group, or (for the last possible group) a key longer than any log key.
pub fn log_end(group: GroupId) -> Vec<u8> {
    match group.0.checked_add(1) {
        Some(next) => log_key(GroupId(next), 0).to_vec(),
        None => {
            let mut key = log_key(group, u64::MAX).to_vec();
            key.push(0);
            key
        }
    }
}

/// The `raft_meta` key of `kind` for `group`.
pub fn meta_key(group: GroupId, kind: MetaKind) -> [u8; 5] {
    let mut key = [0u8; 5];
    key[..4].copy_from_slice(&group.to_be_bytes());
    key[4] = kind as u8;
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_by_group_then_index() {
        let g1 = GroupId::shard(1);
        let g2 = GroupId::shard(2);
        assert!(log_key(g1, 255) < log_key(g1, 256));
        assert!(log_key(g1, u64::MAX) < log_key(g2, 0));
        assert!(log_key(g1, u64::MAX).as_slice() < log_end(g1).as_slice());
        assert!(log_end(g1).as_slice() <= log_key(g2, 0).as_slice());
    }

    #[test]
    fn log_index_round_trips_and_rejects_other_groups() {
        let g = GroupId::shard(3);
        assert_eq!(log_index(g, &log_key(g, 42)), Some(42));
        assert_eq!(log_index(GroupId::META, &log_key(g, 42)), None);
        assert_eq!(log_index(g, &log_key(g, 42)[..11]), None);
    }

    #[test]
    fn last_group_has_an_upper_bound() {
        let last = GroupId(u32::MAX);
        assert!(log_key(last, u64::MAX).as_slice() < log_end(last).as_slice());
    }

    #[test]
    fn meta_keys_are_distinct_per_group_and_kind() {
        assert_ne!(
            meta_key(GroupId::META, MetaKind::Vote),
            meta_key(GroupId::shard(1), MetaKind::Vote)
        );
        assert_ne!(
            meta_key(GroupId::META, MetaKind::Vote),
            meta_key(GroupId::META, MetaKind::LastPurged)
        );
    }
}
