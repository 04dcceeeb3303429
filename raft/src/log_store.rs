//! The durable Raft log store: every Raft group of the node in one RocksDB instance, with logs
//! and votes fsynced before openraft is told they are persisted.
//!
//! Layout and durability rules are documented in `docs/raft-storage.md`; the key encoding is in
//! [`keys`], the instance and its write path in [`db`], openraft's storage traits per group
//! in [`group_store`], and the entries kept in memory until applied in [`appended`].

pub mod appended;
pub mod db;
pub mod error;
pub mod group_store;
pub mod keys;

#[cfg(test)]
mod tests;

pub use db::RaftDb;
pub use error::LogStoreError;
pub use group_store::GroupLogStore;
