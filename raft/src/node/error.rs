//! The node runtime's errors, one enum per kind of caller, so the `api` crate maps each variant
//! to an HTTP status in one place (raft itself knows nothing of HTTP).
//!
//! The split that matters for clients is between "not done, retry" ([`WriteError::Unavailable`]),
//! "maybe done" ([`WriteError::Timeout`]: the entry may still commit, so the write is unknown,
//! never failed) and "broken" ([`WriteError::Fatal`]).

use crate::type_config::NodeId;

/// Why [`Node::start`](crate::node::Node::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is inconsistent (checked before anything is opened).
    #[error("invalid node configuration: {0}")]
    Config(String),
    /// The Raft database (`<data>/raft`) could not be opened or read.
    #[error(transparent)]
    RaftDb(#[from] crate::log_store::LogStoreError),
    /// The TSDB (`<data>/tsdb`) could not be opened.
    #[error("opening the tsdb: {0}")]
    Tsdb(#[from] skyview_storage::tsdb::StorageError),
    /// A shard replica's state machine could not be opened.
    #[error("opening shard {shard}: {reason}")]
    Shard {
        /// The shard.
        shard: u32,
        /// The state machine's error.
        reason: String,
    },
    /// A directory of the data dir could not be created.
    #[error("creating {path}: {source}")]
    Io {
        /// The directory.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// openraft refused to start a group (its storage is unusable).
    #[error("starting raft group {group}: {reason}")]
    Raft {
        /// The group (`meta` or `shard-N`).
        group: String,
        /// openraft's error.
        reason: String,
    },
}

/// Why a write was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The write was not proposed (no leader, leader unreachable, shard not placed, node
    /// shutting down). Nothing was applied; retrying is safe and expected.
    #[error("shard {shard} unavailable: {reason}")]
    Unavailable {
        /// The shard.
        shard: u32,
        /// What is missing.
        reason: String,
    },
    /// The write was proposed but its outcome was not known before the deadline: it may still
    /// commit. Retrying is safe (batch and sample dedup), reporting it as failed is not.
    #[error("shard {shard}: write outcome unknown after the deadline")]
    Timeout {
        /// The shard.
        shard: u32,
    },
    /// The shard group hit an unrecoverable error (storage failure): retrying will not help
    /// until an operator acts.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// Why a read (or a status query) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No leader could confirm a read index (election, partition, shard not placed yet).
    #[error("shard {shard} unavailable: {reason}")]
    Unavailable {
        /// The shard (0 = the meta group).
        shard: u32,
        /// What is missing.
        reason: String,
    },
    /// The leader did not confirm in time.
    #[error("shard {shard}: read timed out")]
    Timeout {
        /// The shard (0 = the meta group).
        shard: u32,
    },
    /// The request itself is invalid (unknown shard, bad matcher): retrying will not help.
    #[error("bad read request: {0}")]
    Invalid(String),
    /// The store failed to read (corruption, IO error).
    #[error("storage: {0}")]
    Storage(String),
}

/// Why an administrative request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The node is not a member of the cluster.
    #[error("node {node} is not a member of the cluster")]
    UnknownNode {
        /// The node asked for.
        node: NodeId,
    },
    /// The request is refused as it stands (for example removing the last voter).
    #[error("refused: {0}")]
    Refused(String),
    /// The meta group has no reachable leader; retry later.
    #[error("meta group unavailable: {0}")]
    Unavailable(String),
    /// The change was proposed but not confirmed in time: it may still take effect.
    #[error("membership change outcome unknown after the deadline")]
    Timeout,
}

/// Why an internal peer RPC (`POST /internal/{path}`) was refused. Errors of the operation
/// itself (a vote refused, a forwarded write that timed out) travel inside the 200 reply body so
/// the caller can act on them; these are the transport-level failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InternalError {
    /// No such internal route (a peer of another version, or a typo): HTTP 404.
    #[error("no internal route {path}")]
    UnknownPath {
        /// The path asked for.
        path: String,
    },
    /// The body did not decode as the route's message: HTTP 400.
    #[error("bad body for {path}: {reason}")]
    BadBody {
        /// The route.
        path: String,
        /// The decoder's error.
        reason: String,
    },
    /// This node does not (yet, or any more) host the Raft group, or is shutting down: HTTP 503,
    /// which the peer treats as unreachable and retries.
    #[error("group {group} is not hosted here")]
    GroupNotHosted {
        /// The group (`meta` or `shard-N`).
        group: String,
    },
    /// The node is shutting down: HTTP 503.
    #[error("node is shutting down")]
    ShuttingDown,
    /// The reply could not be encoded: HTTP 500.
    #[error("encoding the reply: {0}")]
    Encode(String),
}

impl InternalError {
    /// Whether the peer should retry (the group may appear, or another node may answer).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            InternalError::GroupNotHosted { .. } | InternalError::ShuttingDown
        )
    }
}
