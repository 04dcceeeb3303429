//! Skyview's wire formats and HTTP surface.
//!
//! It owns the Prometheus remote-write protobuf types (prost), the snappy framing, the
//! batch-identity header that makes retried writes idempotent ([`remote_write`]), remote
//! read's messages ([`remote_read`]), and the
//! receiver's axum router ([`receiver`]): validation, the split of a request by shard, and the
//! one mapping of the cluster's errors to HTTP. It drives `raft`'s node and must not know about
//! actors; the agent uses only its wire types.

pub mod receiver;
pub mod remote_read;
pub mod remote_write;
