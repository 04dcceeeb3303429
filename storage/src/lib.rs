//! The receiver's time-series store, for issue "The receiver cluster".
//!
//! - [`chunk`]: the sample chunk codec: how one series' samples over a time range are
//!   compressed into the bytes stored under one key, and read back. Pure, no IO.
//! - [`tsdb`]: the store on RocksDB: series index and postings, chunk storage by two-hour
//!   partition, the head with its out-of-order window, batch dedup (invariant I2), the
//!   durability contract with the Raft log (apply without fsync, flush to let the log be
//!   purged), retention and per-shard snapshots.
//!
//! The PromQL engine is not here: it lives in `skyview-promql`, over a `Queryable` trait that
//! the receiver implements with [`tsdb::Tsdb::select`], so it builds and tests without RocksDB.
//!
//! It must not know about HTTP or Raft: it is handed already-ordered batches and answers reads.

pub mod chunk;
pub mod tsdb;
