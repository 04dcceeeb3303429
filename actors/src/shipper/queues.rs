//! How many queues an endpoint has, and which queue a series belongs to.
//!
//! The count is fixed: `min(queue_config.max_shards, 8)`, at least 1. Prometheus resizes its
//! shards with the load; Skyview does not, because a series' queue decides which per-queue
//! cursor covers its samples and which batch identity (`<agent>/<queue>/<first>-<last>`) they
//! travel under. A count that moved with the load would move series between queues across a
//! restart, and a retried batch would no longer carry the identity the receiver saw. Eight
//! queues, each with one batch in flight, already exceed what one agent needs (a batch of 500
//! samples every few milliseconds per queue is well past 200k samples/s).
//!
//! A series is pinned to `stable_hash(labels) % count`, hashing the labels as the WAL stores
//! them (before `write_relabel_configs` and external labels). The assignment therefore survives
//! a config reload that only changes relabelling, and with one batch in flight per queue the
//! samples of one series reach the receiver in WAL order.

use crate::config::QueueConfig;
use crate::labels::Labels;

/// Upper bound on queues per endpoint.
pub const MAX_QUEUES: usize = 8;

/// The number of queues for an endpoint's queue config.
pub fn queue_count(cfg: &QueueConfig) -> u32 {
    cfg.max_shards.clamp(1, MAX_QUEUES) as u32
}

/// The queue a series (by its WAL labels) is pinned to.
pub fn queue_for(labels: &Labels, queues: u32) -> u32 {
    (labels.stable_hash() % u64::from(queues.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_is_capped_and_never_zero() {
        let with = |max_shards| {
            queue_count(&QueueConfig {
                max_shards,
                ..QueueConfig::default()
            })
        };
        assert_eq!(with(200), 8);
        assert_eq!(with(3), 3);
        assert_eq!(with(0), 1);
        assert_eq!(queue_count(&QueueConfig::default()), 8);
    }

    #[test]
    fn assignment_is_stable_and_spreads() {
        // Pinned values: a change here moves series between queues and breaks batch identities
        // of agents upgraded mid-retry.
        let up = Labels::from_pairs([("__name__", "up"), ("job", "node")]);
        assert_eq!(
            (up.stable_hash(), queue_for(&up, 8)),
            (9_644_008_637_806_697_401, 1)
        );
        assert_eq!(queue_for(&up, 8), queue_for(&up.clone(), 8));
        assert_eq!(queue_for(&up, 1), 0);

        let mut seen = [0u32; 8];
        for i in 0..800 {
            let l = Labels::from_pairs([("__name__", "m"), ("i", &i.to_string())]);
            let q = queue_for(&l, 8);
            assert!(q < 8);
            seen[q as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "uneven spread: {seen:?}");
    }
}
