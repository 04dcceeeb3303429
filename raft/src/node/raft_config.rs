//! openraft's settings for every group of a node.
//!
//! Tuned for failover within a second and for shard entries that are large (a group-committed
//! entry carries up to [`MAX_ENTRY_SAMPLES`](crate::node::group_commit::MAX_ENTRY_SAMPLES)
//! samples): frequent heartbeats and short elections, few entries per append RPC, and a
//! snapshot (for a shard: a head flush) every thousand entries, or sooner by the samples
//! applied ([`snapshot_trigger`](crate::node::snapshot_trigger)), so the log is purged
//! steadily.
//!
//! # Elections
//!
//! The failover time is not the election timeout alone. openraft gives a leader a lease of
//! `election_timeout_max`: a follower that heard from its leader refuses votes for that long,
//! and starts its own election only after the lease *plus* its election timeout, which it
//! draws once, when the group starts, from `[election_timeout_min, election_timeout_max)`.
//!
//! With one range for every replica, two followers of a dead leader that drew timeouts a few
//! milliseconds apart would both campaign before either hears the other, each vote for itself,
//! and try again a timeout later; and since the draw is never repeated, they would split every
//! vote. So each replica of a group gets its own *slot*
//! ([`raft_config`]): slot `k` draws from `[250 + 50k, 270 + 50k)` ms, with a lease of
//! `270 + 50k`, so it campaigns `[520 + 100k, 540 + 100k)` ms after its last heartbeat.
//! Replicas in different slots campaign at least 80 ms apart, far more than a vote round
//! trip, and every lease has expired by the time the first follower campaigns (leases are at
//! most `270 + 50 x 4` ms). A replica's slot is its position among the group's members
//! ([`election_slot`]): in the shard's placement, so the replicas of a group differ, and for
//! the meta group in the initial cluster. (The other cause of a second round, a candidate
//! with a shorter log, is handled in [`election_takeover`](crate::node::election_takeover).)

use std::sync::Arc;

use openraft::{Config, SnapshotPolicy};

use crate::node::error::NodeError;
use crate::type_config::NodeId;

/// Heartbeat interval (ms): two fit in the shortest election timeout, so a heartbeat delayed
/// by a busy node does not start an election. openraft 0.9 also uses it as the deadline of
/// every append RPC: at 50 ms, a loaded 2-core machine timed out thousands of appends in one
/// RF=3 ingest run, and each timeout resent its entries, which loaded it more.
pub const HEARTBEAT_MS: u64 = 100;
/// Shortest election timeout (ms): slot 0's.
const ELECTION_TIMEOUT_MS: u64 = 250;
/// How much later each further slot's election timeout starts (ms).
const ELECTION_SLOT_MS: u64 = 50;
/// Width of one slot's random range (ms), which keeps replicas that share a slot (a group of
/// more than [`ELECTION_SLOTS`] replicas, or placements changed since their start) apart.
const ELECTION_JITTER_MS: u64 = 20;
/// Slots; a position beyond the last shares the last.
pub const ELECTION_SLOTS: usize = 5;
/// Entries after the last snapshot that trigger a new one (and a log purge behind it).
const SNAPSHOT_EVERY_ENTRIES: u64 = 1_000;
/// Entries kept in the log behind a snapshot, so a briefly lagging follower catches up from
/// the log rather than by a snapshot transfer. Entries may be large, so few are kept: 256
/// covers a few seconds of a busy shard's entries.
const LOG_KEPT_BEHIND_SNAPSHOT: u64 = 256;
/// Entries per append RPC: entries are big (up to 100,000 samples), so a catch-up RPC stays
/// small enough to finish within its deadline ([`HEARTBEAT_MS`]).
const MAX_PAYLOAD_ENTRIES: u64 = 8;
/// Deadline of one snapshot chunk transfer (ms).
const INSTALL_SNAPSHOT_TIMEOUT_MS: u64 = 10_000;

/// The election slot of `me` among a group's `members`: its position, or (not a member yet,
/// as a replica started for a move) the position after the last.
pub fn election_slot(members: &[NodeId], me: NodeId) -> usize {
    members
        .iter()
        .position(|&node| node == me)
        .unwrap_or(members.len())
}

/// The validated configuration of a replica in election slot `slot` (see the module header);
/// everything but the election timeout and lease is the same for every group.
pub fn raft_config(slot: usize) -> Result<Arc<Config>, NodeError> {
    let slot = slot.min(ELECTION_SLOTS - 1) as u64;
    let election_timeout_min = ELECTION_TIMEOUT_MS + ELECTION_SLOT_MS * slot;
    let config = Config {
        cluster_name: "skyview".into(),
        heartbeat_interval: HEARTBEAT_MS,
        election_timeout_min,
        election_timeout_max: election_timeout_min + ELECTION_JITTER_MS,
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

    /// When a follower in `config`'s slot campaigns after its leader's last heartbeat: its
    /// lease, then its election timeout (ms, start and end of the range).
    fn campaign(config: &Config) -> (u64, u64) {
        let lease = config.election_timeout_max;
        (
            lease + config.election_timeout_min,
            lease + config.election_timeout_max,
        )
    }

    #[test]
    fn slots_campaign_apart_and_after_every_lease() {
        let configs: Vec<_> = (0..=ELECTION_SLOTS)
            .map(|slot| raft_config(slot).unwrap())
            .collect();
        let (first_campaign, _) = campaign(&configs[0]);
        for (slot, config) in configs.iter().enumerate() {
            assert!(config.election_timeout_min > config.heartbeat_interval * 2);
            assert!(config.election_timeout_max < first_campaign, "slot {slot}");
        }
        for pair in configs[..ELECTION_SLOTS].windows(2) {
            assert!(campaign(&pair[1]).0 >= campaign(&pair[0]).1 + 80);
        }
        let last = &configs[ELECTION_SLOTS];
        assert_eq!(
            last.election_timeout_min,
            configs[ELECTION_SLOTS - 1].election_timeout_min
        );
    }

    #[test]
    fn a_slot_is_the_position_among_the_members() {
        assert_eq!(election_slot(&[4, 2, 7], 2), 1);
        assert_eq!(election_slot(&[4, 2, 7], 4), 0);
        assert_eq!(election_slot(&[4, 2, 7], 9), 3);
    }
}
