//! The TSDB's error type. Request errors (a bad label set, matcher or batch identity: the
//! caller's input, answered with a 4xx) are kept apart from fatal ones (RocksDB failures,
//! corrupt stored bytes, snapshot IO: the node's storage is unusable); [`StorageError::is_fatal`]
//! tells them apart. Rejected *samples* are not errors: they are counted in the
//! [`ApplyOutcome`](super::ApplyOutcome), since the rest of the batch is still applied.

use std::path::PathBuf;

use super::ShardId;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A label set that cannot identify a series.
    #[error("invalid label set: {reason}")]
    InvalidLabels { reason: LabelError },
    /// A matcher whose regular expression does not compile.
    #[error("invalid regular expression {pattern:?} in matcher on label {name:?}: {source}")]
    InvalidRegex {
        name: String,
        pattern: String,
        source: Box<regex::Error>,
    },
    /// A batch identity whose sequence range is reversed.
    #[error("batch identity of agent {agent:?} queue {queue} has first {first} after last {last}")]
    InvalidBatchKey {
        agent: String,
        queue: u32,
        first: u64,
        last: u64,
    },
    /// RocksDB itself failed (IO, corruption it detected, a failed merge).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// A column family the layout requires is not open.
    #[error("column family {name:?} is missing")]
    MissingColumnFamily { name: &'static str },
    /// Stored bytes that do not decode as what the layout says they are.
    #[error("corrupt {what} in column family {cf:?} under key {key:02x?}")]
    Corrupt {
        cf: &'static str,
        what: &'static str,
        key: Vec<u8>,
    },
    /// Reading or writing a snapshot's files failed.
    #[error("snapshot of shard {shard} at {path}: {source}")]
    SnapshotIo {
        shard: ShardId,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StorageError {
    /// Bytes under `key` in `cf` that do not decode as `what`.
    pub(crate) fn corrupt(cf: &'static str, what: &'static str, key: &[u8]) -> Self {
        Self::Corrupt {
            cf,
            what,
            key: key.to_vec(),
        }
    }

    /// Whether the node's storage is unusable (as opposed to a bad request).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::InvalidLabels { .. } | Self::InvalidRegex { .. } | Self::InvalidBatchKey { .. }
        )
    }
}

/// Why a list of label pairs is not a valid series identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("label name at position {index} is empty")]
    EmptyName { index: usize },
    #[error("label names are not strictly sorted: {previous:?} then {name:?}")]
    Unsorted { previous: String, name: String },
    #[error("the label set has no label with a non-empty value")]
    NoLabels,
}

impl From<LabelError> for StorageError {
    fn from(reason: LabelError) -> Self {
        Self::InvalidLabels { reason }
    }
}
