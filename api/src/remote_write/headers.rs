//! The HTTP headers of a remote write 1.0 request.
//!
//! The spec requires all three of the first group on every request; a receiver may reject a
//! request missing any of them. `X-Skyview-Batch` is Skyview's own (see [`super::batch_id`]).

/// `Content-Encoding` value: the body is snappy *block* format (not the framed format).
pub const CONTENT_ENCODING: &str = "snappy";

/// `Content-Type` value: the body is a protobuf `WriteRequest`.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// Name of the header carrying the protocol version.
pub const REMOTE_WRITE_VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";

/// The protocol version this crate speaks (remote write 1.0 says `0.1.0`).
pub const REMOTE_WRITE_VERSION: &str = "0.1.0";

/// Name of the header carrying a batch's idempotency identity.
pub const BATCH_HEADER: &str = "X-Skyview-Batch";
