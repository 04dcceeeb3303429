//! The agent write-ahead log.

mod contract;

pub use contract::*;
