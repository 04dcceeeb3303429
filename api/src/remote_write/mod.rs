//! Prometheus remote write 1.0 on the wire, plus Skyview's batch identity.
//!
//! - [`proto`]: the protobuf messages (`prometheus.WriteRequest` and what it holds), written by
//!   hand with `prost` derives so the build needs no `protoc`.
//! - [`codec`]: the snappy *block* framing the spec mandates, with a decoder that refuses to
//!   inflate a body past a caller-given limit before allocating anything.
//! - [`headers`]: the header names and values the spec requires on every request.
//! - [`batch_id`]: the `X-Skyview-Batch` header, `<agent_id>/<queue>/<first>-<last>`, which
//!   names a batch by the WAL range it was cut from. An agent that retries a batch, even after
//!   a restart, sends the same identity, so the receiver can drop the duplicate. For one
//!   `(agent_id, queue)` the ranges of successive batches are disjoint and increasing, so a
//!   receiver only needs the highest `last` it has committed per queue (a high-water mark).
//!   The full contract is in `docs/remote-write.md`.

pub mod batch_id;
pub mod codec;
pub mod headers;
pub mod proto;

pub use batch_id::{BatchId, BatchIdError};
pub use codec::{decode_write_request, encode_write_request, WireError};
pub use proto::{Label, MetricMetadata, MetricType, Sample, TimeSeries, WriteRequest};
