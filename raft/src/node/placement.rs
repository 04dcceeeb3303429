//! The initial shard placement of a cluster created from `--initial-cluster`.
//!
//! Deterministic so that every node computes the same answer without talking: shard `s` goes
//! to `rf` nodes taken from the sorted node list starting at index `(s - 1) mod n`. Leaders
//! (the first replica) therefore spread round-robin over the nodes, and each node holds about
//! `S * rf / n` replicas.

use crate::type_config::NodeId;

/// The replicas of `shard` (1-based) among `nodes` (any order, no duplicates), first = the
/// preferred leader. `replication_factor` is capped at the node count; empty if there is no
/// node.
pub fn initial_placement(shard: u32, nodes: &[NodeId], replication_factor: usize) -> Vec<NodeId> {
    let mut sorted = nodes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let start = (shard.saturating_sub(1) as usize) % n;
    (0..replication_factor.min(n))
        .map(|i| sorted[(start + i) % n])
        .collect()
}

/// The meta group's voters among `nodes`: the lowest ids, at most five (more voters only slow
/// every meta commit down without adding useful fault tolerance).
pub fn meta_voters(nodes: &[NodeId]) -> Vec<NodeId> {
    let mut sorted = nodes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.truncate(MAX_META_VOTERS);
    sorted
}

/// The most voters the meta group has.
pub const MAX_META_VOTERS: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_rotate_over_sorted_nodes() {
        let nodes = [3, 1, 2];
        assert_eq!(initial_placement(1, &nodes, 3), [1, 2, 3]);
        assert_eq!(initial_placement(2, &nodes, 3), [2, 3, 1]);
        assert_eq!(initial_placement(3, &nodes, 3), [3, 1, 2]);
        assert_eq!(initial_placement(4, &nodes, 3), [1, 2, 3]);
        assert_eq!(initial_placement(5, &nodes, 2), [2, 3]);
    }

    #[test]
    fn replication_factor_is_capped_at_the_node_count() {
        assert_eq!(initial_placement(7, &[9], 3), [9]);
        assert_eq!(initial_placement(1, &[], 3), Vec::<NodeId>::new());
    }

    #[test]
    fn leaders_spread_evenly() {
        let nodes = [1, 2, 3, 4];
        let mut leaders = [0; 5];
        for shard in 1..=16 {
            leaders[initial_placement(shard, &nodes, 3)[0] as usize] += 1;
        }
        assert_eq!(&leaders[1..], [4, 4, 4, 4]);
    }

    #[test]
    fn at_most_five_lowest_nodes_vote() {
        assert_eq!(meta_voters(&[7, 1, 6, 2, 5, 3, 4]), [1, 2, 3, 4, 5]);
        assert_eq!(meta_voters(&[2, 1]), [1, 2]);
    }
}
