//! openraft's settings for every group of a node.
//!
//! Tuned for failover within a second and for shard entries that are large (a group-committed
//! entry carries up to [`MAX_ENTRY_SAMPLES`](crate::node::group_commit::MAX_ENTRY_SAMPLES)
//! samples): frequent heartbeats and short elections, few entries per append RPC, and a
//! snapshot (for a shard: a head flush) every thousand entries, or sooner by the samples
//! applied ([`snapshot_trigger`](crate::node::snapshot_trigger)), so the log is purged
//! steadily.
//!
//! The failover time is not the election timeout alone. openraft gives a leader a lease of
//! `election_timeout_max`: a follower that heard from its leader refuses votes for that long,
//! and starts its own election only after the lease *plus* its election timeout. A follower
//! therefore campaigns `election_timeout_max + [min, max)` after the last heartbeat it got,
//! 600-700 ms with the values below (900-1200 ms with the common 300-600 ms, which is what made
//! failover take 1.2-3.7 s).

use std::sync::Arc;

use openraft::{Config, SnapshotPolicy};

use crate::node::error::NodeError;

/// Heartbeat interval (ms): several heartbeats fit in the shortest election timeout, so a
/// heartbeat delayed by a busy node does not start an election.
pub const HEARTBEAT_MS: u64 = 50;
/// Election timeout range (ms). With the leader lease in front of it (see the module header),
/// a dead leader's followers campaign 600-700 ms after its last heartbeat. Shorter settings
/// (40 ms, 180-280 ms) measured a lower median but a longer tail under load.
pub const ELECTION_TIMEOUT_MS: (u64, u64) = (250, 350);
/// Entries after the last snapshot that trigger a new one (and a log purge behind it).
const SNAPSHOT_EVERY_ENTRIES: u64 = 1_000;
/// Entries kept in the log behind a snapshot, so a briefly lagging follower catches up from
/// the log rather than by a snapshot transfer. Entries may be large, so few are kept: 256
/// covers a few seconds of a busy shard's entries.
const LOG_KEPT_BEHIND_SNAPSHOT: u64 = 256;
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
