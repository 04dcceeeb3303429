//! The receiver cluster's consensus layer, built on openraft 0.9 (storage-v2 API): on each node,
//! the meta group and a replica of some of the shard groups, all over one Raft database and one
//! TSDB.
//!
//! - [`type_config`], [`group`], [`command`], [`write_batch`]: the openraft type configuration
//!   shared by all groups, group ids, and the replicated [`command::Command`] (group-committed
//!   write batches for shard groups, [`meta::command::MetaCommand`] for the meta group) with its
//!   [`command::Response`];
//! - [`log_store`]: the durable Raft log store, every group of the node in one RocksDB instance
//!   (`<data>/raft`), votes and appends fsynced before openraft is told; it passes openraft's
//!   storage conformance suite;
//! - [`meta`]: the meta group's state machine (shard placement, agents' high-water marks, nodes
//!   leaving) with persisted snapshots;
//! - [`shard`]: the shard groups' state machine: write batches applied to `storage`'s TSDB with
//!   batch and per-sample dedup, and fuzzy snapshots packed on demand (`SKYSNAP1`);
//! - [`sharding`]: `shard_of`, the fixed hash that routes a series to its shard;
//! - [`network`]: the peer network, internal RPCs as postcard bodies over HTTP behind a
//!   transport trait;
//! - [`node`]: the multi-Raft node runtime the `api` crate drives: bootstrap and join, replica
//!   placement, group commit, forwarding to leaders, linearizable reads, status, node removal;
//! - [`rebalance`]: which shard replica to move next when a node leaves.
//!
//! It must not know about HTTP routing or wire formats beyond the batches it replicates: the
//! `api` crate drives it (and hands it the peers' `/internal/` requests), and it drives
//! `storage`.

pub mod command;
pub mod group;
pub mod log_store;
pub mod meta;
pub mod metadata;
pub mod network;
pub mod node;
pub mod rebalance;
pub mod shard;
pub mod sharding;
pub mod type_config;
pub mod write_batch;

#[cfg(test)]
mod conformance;
