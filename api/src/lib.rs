//! Skyview's wire formats and HTTP surface.
//!
//! It owns the Prometheus remote-write protobuf types (prost), the snappy framing, and the
//! batch-identity header that makes retried writes idempotent. The receiver's axum routers
//! will live here too. It must not know about actors; the agent uses only its wire types.

pub mod remote_write;
