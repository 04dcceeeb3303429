//! Who this node last saw leading each shard it does not host (or hosts as a follower).
//!
//! A hint saves a forwarded request the extra hop through a follower's `NotLeader` refusal.
//! It is only a hint: a stale one costs one refused attempt, after which the refusal's own
//! leader (or the next replica of the placement) is tried.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::type_config::NodeId;

/// Per shard, the last known leader.
#[derive(Debug, Default)]
pub struct LeaderHints {
    leaders: Mutex<BTreeMap<u32, NodeId>>,
}

impl LeaderHints {
    /// The last known leader of `shard`.
    pub fn get(&self, shard: u32) -> Option<NodeId> {
        self.lock().get(&shard).copied()
    }

    /// Remember `leader` for `shard`, or forget the hint (`None`).
    pub fn set(&self, shard: u32, leader: Option<NodeId>) {
        let mut leaders = self.lock();
        match leader {
            Some(leader) => leaders.insert(shard, leader),
            None => leaders.remove(&shard),
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, NodeId>> {
        // The map is always consistent (single inserts/removes), so a poisoned lock is usable.
        self.leaders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The order in which to try a shard's nodes: the hinted leader first, then the placement's
/// replicas (preferred leader first), each once.
pub fn candidates(hint: Option<NodeId>, placement: &[NodeId]) -> Vec<NodeId> {
    let mut order = Vec::with_capacity(placement.len() + 1);
    order.extend(hint);
    for node in placement {
        if !order.contains(node) {
            order.push(*node);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_set_and_forgotten() {
        let hints = LeaderHints::default();
        assert_eq!(hints.get(1), None);
        hints.set(1, Some(3));
        assert_eq!(hints.get(1), Some(3));
        hints.set(1, None);
        assert_eq!(hints.get(1), None);
    }

    #[test]
    fn the_hint_goes_first_and_nobody_twice() {
        assert_eq!(candidates(Some(2), &[1, 2, 3]), [2, 1, 3]);
        assert_eq!(candidates(None, &[1, 2, 3]), [1, 2, 3]);
        assert_eq!(candidates(Some(9), &[1]), [9, 1]);
    }
}
