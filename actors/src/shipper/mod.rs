//! The Shipper: one per `remote_write` entry, it reads the WAL and delivers every sample with
//! Prometheus remote write 1.0, resuming after a restart exactly where its acknowledgements end.
//!
//! Data path: a reader thread (`reader`) follows the WAL to its durable position, turns series
//! records into the endpoint's relabelled, pre-encoded series (`series`), and deals samples to
//! a fixed number of queues by series hash (`queues`). Each queue task (`queue`) cuts batches
//! of whole WAL records (`batch`), encodes them straight to protobuf + snappy (`encode`), sends
//! them with the `X-Skyview-Batch` identity (`client`) and retries as the spec says (`retry`).
//! Acknowledgements move per-queue cursors, which one keeper task (`keeper`) persists
//! atomically (`cursor`) before telling the WAL how far it may truncate. On start, a Skyview
//! receiver is asked how far it has committed each queue (`committed`), and a queue whose
//! cursor trails that resumes past it (`resume`). The actor (`actor`) only wires these
//! together. The full contract is in `docs/remote-write.md`.
//!
//! Metric metadata takes a separate path: a `metadata_sender` per endpoint resends every
//! target's metadata each interval, outside the WAL.

mod actor;
mod batch;
mod client;
mod committed;
mod cursor;
mod drop_cause;
mod encode;
mod endpoint_metrics;
mod error;
mod keeper;
mod metadata_sender;
mod queue;
mod queues;
mod reader;
mod resume;
mod retry;
mod series;

pub use actor::{consumer_name, endpoint_key, Shipper, StopShipper};
pub use client::ClientError;
pub use error::ShipperError;
pub use metadata_sender::{MetadataSender, StopMetadataSender};
