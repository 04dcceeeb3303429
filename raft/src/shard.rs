//! The shard groups' state machine: a shard's replicated write batches applied to the node's
//! [`Tsdb`](skyview_storage::tsdb::Tsdb), and its snapshots.
//!
//! # Durability
//!
//! The Raft log is the durability point. Applying an entry writes to the TSDB without fsync
//! and keeps the open chunks in memory; the TSDB's flushed *applied mark* says up to which log
//! entry everything is on disk. Each entry's mark carries `postcard((LogId, StoredMembership))`
//! (the entry's log id and the membership in force after it), so after a restart
//! `applied_state()` reports exactly the flushed entry and its membership, and openraft
//! re-applies the log after it. Re-applying is harmless: batch dedup marks, per-sample dedup
//! and deterministic series ids make a write entry idempotent.
//!
//! # Snapshots ("fuzzy", as ZooKeeper's)
//!
//! - **Build** (openraft's snapshot policy, which then purges the log): flush the head
//!   (one fsynced RocksDB batch) and store only the snapshot *metadata* in the Raft database
//!   (`raft_meta`, kind `Snapshot`, with empty data). The metadata's last log id is the last
//!   entry applied when openraft asked for the builder, all of whose effects the flush made
//!   durable. A build is a flush, not a copy of the shard.
//! - **Get** (a lagging follower needs it): the data is produced at that moment, a
//!   [`Tsdb::checkpoint`](skyview_storage::tsdb::Tsdb::checkpoint) of the shard packed into
//!   one buffer ([`pack`]). It may contain entries past the metadata's log id; the follower
//!   re-applies those from the log, which is idempotent (see above).
//! - **Install**: the pack is checked and unpacked into `<snapshot_dir>/shard-<n>/receiving`
//!   (files and directory fsynced), renamed to `installing`, the metadata is stored, the shard is replaced by
//!   [`Tsdb::restore`](skyview_storage::tsdb::Tsdb::restore), and the directory is removed.
//!   The directory's presence means "restore pending": if the node dies before the restore
//!   completes, opening the state machine restores from it again, so a half-replaced shard is
//!   never served.
//!
//! # Snapshot pack format (version 1)
//!
//! The checkpoint is one SST file per column family in which the shard has keys, named
//! `<column family>.sst`. The pack concatenates them:
//!
//! ```text
//! pack     = magic count file{count} checksum
//! magic    = "SKYSNAP1"                      8 bytes
//! count    = u32 big-endian                  number of files, at most 64
//! file     = name_len name size bytes
//! name_len = u16 big-endian                  1..=255
//! name     = UTF-8, [a-z0-9_]+ ".sst"        unique within the pack, sorted ascending
//! size     = u64 big-endian                  length of `bytes`
//! checksum = u64 big-endian                  xxh3-64 (seed 0) of every byte before it
//! ```
//!
//! A pack is verified whole (magic, bounds, names, checksum, no trailing bytes) before a
//! single file is written, so a corrupt or truncated transfer changes nothing on the
//! follower. Names are restricted so that a pack can never write outside its directory.

pub mod apply_batch;
pub mod error;
pub mod mark;
pub mod pack;
pub mod snapshot_files;
pub mod state_machine;

#[cfg(test)]
mod tests;

pub use error::ShardError;
pub use state_machine::{ShardSnapshotBuilder, ShardStateMachine};

/// The node's TSDB, shared by every shard group on the node (and by the read path).
/// Writers (apply, flush, checkpoint, restore) take the write lock inside
/// `spawn_blocking`; it is never held across an `.await`.
pub type SharedTsdb = std::sync::Arc<std::sync::RwLock<skyview_storage::tsdb::Tsdb>>;
