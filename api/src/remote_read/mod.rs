//! Prometheus remote read on the wire: the `ReadRequest` a reader sends and the `ReadResponse`
//! of the SAMPLES response type, in the same snappy block framing as remote write
//! ([`crate::remote_write::codec`]).
//!
//! Only SAMPLES is answered. It is what Prometheus's own `remote_read` client asks for (it
//! sends no `accepted_response_types`, which means SAMPLES); STREAMED_XOR_CHUNKS would need
//! Prometheus's XOR chunks, which our store does not keep.

pub mod proto;

pub use proto::{
    LabelMatcher, MatchType, Query, QueryResult, ReadRequest, ReadResponse, ResponseType,
};

/// The `Content-Type` of a remote-read request and of its SAMPLES response.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The `Content-Encoding` of a SAMPLES response (snappy block format).
pub const CONTENT_ENCODING: &str = "snappy";
