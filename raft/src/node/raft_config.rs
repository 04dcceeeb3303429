//! openraft's settings for every group of a node.
//!
//! Tuned for failover within a second and for shard entries that are large (a group-committed
//! entry carries up to [`MAX_ENTRY_SAMPLES`](crate::node::group_commit::MAX_ENTRY_SAMPLES)
//! samples): heartbeats every 100 ms, elections after 300-600 ms of silence, few entries per
//! append RPC, and a snapshot (for a shard: a head flush) every few thousand entries so the log
//! is purged steadily.

use std::sync::Arc;

use openraft::{Config, SnapshotPolicy};

use crate::node::error::NodeError;

/// Heartbeat interval (ms).
pub const HEARTBEAT_MS: u64 = 100;
/// Election timeout range (ms): a leader is replaced within about one second of dying.
pub const ELECTION_TIMEOUT_MS: (u64, u64) = (300, 600);
/// Entries after the last snapshot that trigger a new one (and a log purge behind it).
const SNAPSHOT_EVERY_ENTRIES: u64 = 4_000;
/// Entries kept in the log behind a snapshot, so a briefly lagging follower catches up from
/// the log rather than by a snapshot transfer.
const LOG_KEPT_BEHIND_SNAPSHOT: u64 = 1_000;
/// Entries per append RPC: entries are big, so a catch-up RPC stays a few MiB.
const MAX_PAYLOAD_ENTRIES: u64 = 32;
/// Deadline of one snapshot chunk transfer (ms).
const INSTALL_SNAPSHOT_TIMEOUT_MS: u64 = 10_000;

/// The validated configuration shared by the meta group and the shard groups.
pub fn raft_config() -> Result<Arc<Config>, NodeError> {
    let config = Config {
        cluster_name: "skyview".into(),
        heartbeat_interval: HEARTBEAT_MS,
        election_timeout_min: ELECTION_TIMEOUT_MS.0,
        election_timeout_max: ELECTION_TIMEOUT_MS.1,
        install_snapshot_timeout: INSTALL_SNAPSHOT_TIMEOUT_MS,
        max_payload_entries: MAX_PAYLOAD_ENTRIES,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(SNAPSHOT_EVERY_ENTRIES),
        max_in_snapshot_log_to_keep: LOG_KEPT_BEHIND_SNAPSHOT,
        ..Config::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|e| NodeError::Config(format!("raft settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_are_accepted_by_openraft() {
        let config = raft_config().unwrap();
        assert!(config.election_timeout_min > config.heartbeat_interval * 2);
    }
}
