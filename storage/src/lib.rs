//! The receiver's time-series store (not built yet; see issue "The receiver cluster").
//!
//! It will own the RocksDB TSDB (series index, postings, chunk codec, head, retention), the
//! batch-dedup table and the PromQL engine over a `Queryable` trait.
//!
//! It must not know about HTTP or Raft: it is handed already-ordered batches and answers reads.
