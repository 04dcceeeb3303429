//! The agent write-ahead log: every scraped sample is kept on disk here until every
//! remote-write endpoint has acknowledged it (or the disk budget forces it out, counted).
//!
//! * [`Wal`] (actor) is the only writer: appends, group-commit fsync, segment rollover,
//!   truncation after acknowledgement, the budget and checkpoints.
//! * [`WalReader`] is how consumers (shippers) read the log, each from its own position.
//! * The on-disk format is documented in the `//!` header of `format.rs` and in
//!   `docs/wal-format.md`.
//!
//! The logic lives in plain modules (`writer`, `retention`, `activity`, `replay`) that
//! are tested without actix; the actor only adds timers and replies.

mod activity;
mod actor;
mod checkpoint;
mod codec;
mod contract;
mod error;
mod format;
mod layout;
mod options;
mod reader;
mod replay;
mod retention;
mod segment;
#[cfg(test)]
mod testkit;
mod writer;

pub use activity::RefHasher;
pub use actor::Wal;
pub use codec::DecodeError;
pub use contract::*;
pub use error::WalError;
pub use format::FrameFault;
pub use options::{WalOptions, DEFAULT_COMMIT_INTERVAL, DEFAULT_SEGMENT_SIZE};
pub use reader::{Skipped, WalReader};
