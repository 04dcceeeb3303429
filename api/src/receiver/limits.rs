//! The bounds a receiver puts on what one request may make it do, so that no single sender
//! can exhaust its memory or fill its store with junk (invariant I6).
//!
//! The defaults follow the two receivers operators already size their senders for:
//! VictoriaMetrics' `-maxInsertRequestSize` (32 MiB on the wire) and Mimir/Cortex's
//! per-series limits (30 labels, 1,024-byte names, 2,048-byte values, a 10-minute creation
//! grace period). Prometheus senders batch 2,000 samples per request by default, a few hundred
//! kilobytes, so they never come near these.

/// Per-request limits of the write path (`--write.*` flags) and of remote read
/// (`--storage.remote.read-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverLimits {
    /// Largest compressed request body accepted (bytes). Checked while the body is read, so a
    /// larger body is refused without being buffered.
    pub max_body_bytes: usize,
    /// Largest size a body may declare once snappy-decompressed (bytes). Checked from the
    /// snappy header before anything is allocated: it caps the memory one request can take.
    /// Mimir's decompressed-message limit (100 MiB).
    pub max_decoded_bytes: usize,
    /// Most labels one series may carry, `__name__` included.
    pub max_labels_per_series: usize,
    /// Longest label name (bytes).
    pub max_label_name_len: usize,
    /// Longest label value (bytes).
    pub max_label_value_len: usize,
    /// How far ahead of this node's clock a sample's timestamp may be (ms). A sender with a
    /// wrong clock would otherwise push the shard's newest time forward and make every correct
    /// sample look too old.
    pub max_future_ms: i64,
    /// Largest body of a peer RPC on `/internal/` (bytes). The largest are Raft appends (up to
    /// 32 group-committed entries); snapshots travel in openraft's chunks of a few MiB.
    pub max_internal_body_bytes: usize,
    /// Most samples one remote-read response may carry, over all its queries (0: no limit).
    /// Prometheus's `--storage.remote.read-sample-limit` (5e7).
    pub remote_read_sample_limit: usize,
    /// Remote reads served at once; the rest wait (0: no limit). Prometheus's
    /// `--storage.remote.read-concurrent-limit` (10).
    pub remote_read_concurrency: usize,
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 << 20,
            max_decoded_bytes: 100 << 20,
            max_labels_per_series: 30,
            max_label_name_len: 1024,
            max_label_value_len: 2048,
            max_future_ms: 10 * 60 * 1000,
            max_internal_body_bytes: 4 << 30,
            remote_read_sample_limit: 50_000_000,
            remote_read_concurrency: 10,
        }
    }
}
