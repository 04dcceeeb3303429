//! The receiver's time-series store, built up piece by piece for issue "The receiver cluster".
//!
//! What exists now is the sample chunk codec ([`chunk`]): how one series' samples over a time
//! range are compressed into the bytes the TSDB will store under one key, and read back. It
//! is pure and independent of any database.
//!
//! Still to come: the RocksDB TSDB (series index, postings, chunk storage, head with
//! out-of-order window, retention), the batch-dedup table and the PromQL engine over a
//! `Queryable` trait.
//!
//! It must not know about HTTP or Raft: it is handed already-ordered batches and answers reads.

pub mod chunk;
