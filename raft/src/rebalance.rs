//! Moving shard replicas off a node that leaves the cluster (`skyview ctl remove-node`).
//!
//! [`plan`] decides, from the meta state alone, the next step; the meta leader's driver
//! (`node::replica_moves`) carries it out through Raft membership changes: the new replica is
//! added as a learner of the shard group and caught up (from the log or a snapshot) before it
//! replaces the leaving one as a voter, so the shard never runs with fewer up-to-date replicas
//! than before.

pub mod plan;
