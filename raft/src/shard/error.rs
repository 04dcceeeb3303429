//! Errors of a shard's state machine. All of them are fatal for the shard group: they mean
//! its storage can no longer be trusted to hold what the log says (openraft stops the group
//! when a state machine call fails, and the node must reopen and replay). Bad *input* is
//! never an error here: an invalid sample in a committed entry is refused in the
//! [`WriteOutcome`](crate::write_batch::WriteOutcome) and the entry still counts as applied.

use std::path::PathBuf;

use skyview_storage::tsdb::StorageError;

use crate::log_store::LogStoreError;
use crate::shard::pack::PackError;

/// A shard state machine failure.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The TSDB failed (RocksDB error, corrupt stored bytes, snapshot file IO).
    #[error("tsdb of shard {shard}: {source}")]
    Storage {
        /// The shard.
        shard: u32,
        /// The TSDB's error.
        source: StorageError,
    },
    /// The Raft database failed while storing or loading snapshot metadata.
    #[error("raft database of shard {shard}: {source}")]
    LogStore {
        /// The shard.
        shard: u32,
        /// The Raft database's error.
        source: LogStoreError,
    },
    /// A snapshot file or directory could not be read, written or synced.
    #[error("snapshot files of shard {shard} at {path}: {source}")]
    SnapshotIo {
        /// The shard.
        shard: u32,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A received snapshot is not a valid pack; nothing was changed.
    #[error("snapshot pack of shard {shard}: {source}")]
    Pack {
        /// The shard.
        shard: u32,
        /// What is wrong with it.
        source: PackError,
    },
    /// The applied mark stored with the shard's data does not decode: the data was not
    /// written by this state machine, or is corrupt.
    #[error("applied mark of shard {shard} does not decode: {source}")]
    DecodeMark {
        /// The shard.
        shard: u32,
        /// postcard's error.
        source: postcard::Error,
    },
    /// An applied mark could not be encoded (only possible for a type serde cannot express).
    #[error("applied mark of shard {shard} does not encode: {source}")]
    EncodeMark {
        /// The shard.
        shard: u32,
        /// postcard's error.
        source: postcard::Error,
    },
    /// After a flush, the TSDB's persisted mark is behind an entry the state machine applied:
    /// the TSDB lost applied data.
    #[error("shard {shard} persisted up to {persisted:?} after applying {applied}")]
    PersistedBehind {
        /// The shard.
        shard: u32,
        /// The last applied index.
        applied: u64,
        /// The index the TSDB reports persisted.
        persisted: Option<u64>,
    },
    /// A restored snapshot stands for an older entry than its metadata says.
    #[error("snapshot of shard {shard} restored up to {restored:?}, its metadata says {expected}")]
    SnapshotBehind {
        /// The shard.
        shard: u32,
        /// The index in the snapshot's metadata.
        expected: u64,
        /// The index the restored data carries.
        restored: Option<u64>,
    },
    /// A thread panicked while holding the TSDB lock, so its state may be half-written.
    #[error("tsdb lock poisoned while used by shard {shard}")]
    Poisoned {
        /// The shard.
        shard: u32,
    },
    /// A blocking task did not complete (it panicked, or the runtime is shutting down).
    #[error("blocking task of shard {shard} did not complete: {source}")]
    Task {
        /// The shard.
        shard: u32,
        /// tokio's error.
        source: tokio::task::JoinError,
    },
}
