//! The receiver cluster's consensus layer, built on openraft 0.9 (storage-v2 API).
//!
//! What exists:
//! - [`type_config`]: the openraft type configuration shared by all groups, with the replicated
//!   [`command::Command`] (write batches for shard groups, [`meta::command::MetaCommand`] for the
//!   meta group) and its [`command::Response`];
//! - [`log_store`]: the durable Raft log store, every group of the node in one RocksDB instance
//!   (`<data>/raft`), votes and appends fsynced before openraft is told; it passes openraft's
//!   storage conformance suite;
//! - [`meta`]: the meta group's state machine (shard placement, agents' high-water marks) with
//!   persisted snapshots.
//!
//! Still to come: the peer network, the shard groups' state machines (deduplicated write
//! batches applied to `storage`), membership and placement logic, and the rule scheduler.
//!
//! It must not know about HTTP routing or wire formats beyond the batches it replicates: the
//! `api` crate drives it, and it drives `storage`.

pub mod command;
pub mod group;
pub mod log_store;
pub mod meta;
pub mod type_config;
pub mod write_batch;

#[cfg(test)]
mod conformance;
