//! Errors of the Raft database, typed so a failure names the group and the operation.
//!
//! A failed write here is fatal for the group (openraft stops the Raft node on a storage
//! error): the log can no longer promise durability. A decode failure means on-disk corruption
//! or a format mismatch, never bad client input, because only encoded entries are ever stored.

use std::path::PathBuf;

use crate::group::GroupId;
use crate::log_store::keys::MetaKind;

/// An error from the Raft database.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    /// The database could not be opened (missing permissions, lock held, corrupt manifest).
    #[error("opening the raft database at {path}: {source}")]
    Open {
        /// The database directory.
        path: PathBuf,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// Writing the memtables to SST files failed.
    #[error("flushing the raft database: {source}")]
    Flush {
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// A column family the database was opened with is missing: a bug, not an input error.
    #[error("raft database has no column family {name}")]
    MissingColumnFamily {
        /// The column family's name.
        name: &'static str,
    },
    /// A RocksDB read or write failed.
    #[error("raft database {op} for group {group}: {source}")]
    Rocks {
        /// The group being read or written.
        group: GroupId,
        /// The operation (`append`, `save_vote`, `read_log`, ...).
        op: &'static str,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// A value could not be encoded (only possible for a type serde cannot express).
    #[error("encoding {what} for group {group}: {source}")]
    Encode {
        /// The group.
        group: GroupId,
        /// What was being encoded.
        what: &'static str,
        /// postcard's error.
        source: postcard::Error,
    },
    /// A stored metadata value could not be decoded.
    #[error("decoding {kind:?} of group {group}: {source}")]
    DecodeMeta {
        /// The group.
        group: GroupId,
        /// Which metadata value.
        kind: MetaKind,
        /// postcard's error.
        source: postcard::Error,
    },
    /// A stored log entry could not be decoded.
    #[error("decoding log entry {index} of group {group}: {source}")]
    DecodeEntry {
        /// The group.
        group: GroupId,
        /// The entry's index (from its key).
        index: u64,
        /// postcard's error.
        source: postcard::Error,
    },
    /// A stored entry's own log id disagrees with the index in its key.
    #[error("log entry under index {key_index} of group {group} says it is index {entry_index}")]
    IndexMismatch {
        /// The group.
        group: GroupId,
        /// The index in the key.
        key_index: u64,
        /// The index inside the entry.
        entry_index: u64,
    },
    /// The blocking task running a synced write did not complete (it panicked or the runtime is
    /// shutting down), so durability is unknown.
    #[error("raft database {op} for group {group} did not complete: {source}")]
    WriteTask {
        /// The group.
        group: GroupId,
        /// The operation.
        op: &'static str,
        /// tokio's error.
        source: tokio::task::JoinError,
    },
}
