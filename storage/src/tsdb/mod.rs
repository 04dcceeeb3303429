//! The receiver's time-series store on RocksDB: series index, postings, chunk storage, head
//! with an out-of-order window, batch dedup, retention and shard snapshots. It is handed
//! ordered batches (by the Raft state machine) and answers reads; it knows nothing of HTTP or
//! Raft. `docs/storage-format.md` says the same as this header.
//!
//! # Layout
//!
//! One RocksDB instance per node (`<data>/tsdb`) holds every shard replica the node hosts.
//! Every key starts with the shard id (u32 big-endian), so a shard is one contiguous range in
//! each column family. Numbers are big-endian; times have their sign bit flipped; strings
//! are UTF-8 and end in `0xFF` (a byte UTF-8 never contains).
//!
//! | column family | key | value |
//! | --- | --- | --- |
//! | `series` | shard, series id u64 | canonical series: tenant and sorted label pairs ([`labels`](LabelSet)) |
//! | `series_by_labels` | shard, xxh3(canonical series) u64 | ids with that hash (postings list; merge: union) |
//! | `postings` | shard, tenant `FF`, name `FF`, value | ids carrying the pair, delta-varint (merge: union); name = value = "" lists every series of the tenant |
//! | `chunks` | shard, partition start i64, series id | chunk list of the series in that two-hour partition (merge: sample merge, first write wins) |
//! | `dedup` | shard, tenant `FF`, agent `FF`, queue u32 | high-water mark u64 |
//! | `meta` | shard, tag u8 | 1: flushed applied mark and newest sample time; 2: next series id u64; 3 + series id u64: the series' head as last flushed (partition i64, then a chunk list: its full chunks and its open chunk) |
//!
//! There is no `head` family: a flush writes each changed series' head as one `meta` record
//! without sealing it (so flushing often, for the Raft log's sake, never cuts chunks
//! short), and the store reloads them when it opens the shard.
//!
//! - **Series ids** count up per shard (`meta` tag 2), assigned in apply order, so replicas
//!   applying the same batches assign the same ids. Tenant is part of the identity.
//! - **Chunks** are keyed time first: retention deletes one key range, and a partition's
//!   series are neighbours. The head holds a series' newest partition and writes it once, when
//!   the series leaves it, as one canonical list (one chunk of up to 1,024 samples); merges
//!   fold out-of-order operands in canonically, so replicas converge to the same bytes
//!   whatever RocksDB's compaction timing.
//! - **Out-of-order samples** within the window are written as their own chunk-list operands,
//!   merged on read and folded in by compaction. A repeated `(series, t)`: with the same value
//!   it is stored once; with another value the first write wins (refused when it meets the
//!   first in the head, silently folded away when it meets it in a stored chunk).
//! - **Column family options**: 16 KiB blocks, Bloom filters, LZ4 for the index families and
//!   no compression for `chunks` (the codec's output does not compress further).
//!
//! # Modules
//!
//! `store` (open, apply, flush, durability model), `query` (select and metadata reads),
//! `retention`, `snapshot`; pure parts: `head`, `dedup`, `chunk_list`, `postings`, `labels`,
//! `keys`, `matcher`.

mod batch;
mod chunk_list;
mod dedup;
mod error;
mod head;
mod keys;
mod labels;
mod matcher;
mod options;
mod outcome;
mod partition;
mod postings;
mod query;
mod retention;
mod snapshot;
mod store;
#[cfg(test)]
mod test_support;
mod varint;

pub use batch::{AppliedMark, SeriesWrite, WriteBatch};
pub use dedup::BatchKey;
pub use error::{LabelError, StorageError};
pub use labels::{LabelSet, RefusedLabels};
pub use matcher::{MatchOp, Matcher};
pub use options::TsdbOptions;
pub use outcome::{ApplyOutcome, RejectReason, Rejection};
pub use query::SeriesSamples;
pub use retention::RetentionOutcome;
pub use store::Tsdb;

/// A shard of the receiver cluster (Raft shard groups 1..S).
pub type ShardId = u32;
/// A series' id, unique within its shard.
pub type SeriesId = u64;
