//! The types other components exchange with the WAL. These are the contract between the
//! Scraper (which appends), the Shipper (which reads and acknowledges) and the Wal actor.

use std::fmt;

use super::error::WalError;
use crate::labels::Labels;
use crate::sample::{RefSample, SeriesRef};

/// The position of a record in the log: segment number and byte offset of the record's start.
/// Positions are totally ordered and only grow; `end` positions point just past a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPos {
    pub segment: u32,
    pub offset: u32,
}

impl WalPos {
    pub const ZERO: WalPos = WalPos {
        segment: 0,
        offset: 0,
    };

    /// Packs the position into one `u64` (segment in the high half), which is monotonic and is
    /// what batch sequence numbers are derived from.
    pub fn as_u64(self) -> u64 {
        (u64::from(self.segment) << 32) | u64::from(self.offset)
    }

    pub fn from_u64(v: u64) -> Self {
        Self {
            segment: (v >> 32) as u32,
            offset: v as u32,
        }
    }
}

impl fmt::Display for WalPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}:{}", self.segment, self.offset)
    }
}

/// Which series a sample in an [`Append`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesId {
    /// A series the WAL already assigned a reference to.
    Ref(SeriesRef),
    /// The n-th entry of [`Append::new_series`]; the WAL assigns its reference.
    New(u32),
}

/// One sample in an [`Append`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AppendSample {
    pub series: SeriesId,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// Appends the samples of one scrape. The reply comes only after the records are fsynced.
#[derive(Debug, Default)]
pub struct Append {
    /// Series not seen before by the sender; each gets a reference, returned in order.
    pub new_series: Vec<Labels>,
    pub samples: Vec<AppendSample>,
}

/// The durable result of an [`Append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The references assigned to `Append::new_series`, in the same order.
    pub refs: Vec<SeriesRef>,
    /// The position just past the last record written for this append.
    pub end: WalPos,
}

/// A decoded record, as a reader yields it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Series definitions: reference -> labels.
    Series(Vec<(SeriesRef, Labels)>),
    /// Samples of series defined earlier in the log (or in the checkpoint).
    Samples(Vec<RefSample>),
}

impl actix::Message for Append {
    type Result = Result<Appended, WalError>;
}

/// Registers a consumer of the log (one per shipper queue). Until it has sent a first
/// [`Progress`], no segment is deleted for being acknowledged. Subscribing again under the
/// same name resets the consumer (it restarted and will report its own position).
#[derive(Debug, Clone)]
pub struct Subscribe {
    pub consumer: String,
}

impl actix::Message for Subscribe {
    type Result = Subscription;
}

/// What a consumer needs to read the log with a `WalReader`.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The end of the fsynced data; read records that start before it. Changes on every
    /// group commit.
    pub durable: tokio::sync::watch::Receiver<WalPos>,
    /// The first position still in the log; reading from before it reports a skipped range.
    pub first: WalPos,
}

/// A consumer's acknowledgement: everything before `acked` is delivered. Acknowledgements
/// only move forward; a lower one is ignored.
#[derive(Debug, Clone)]
pub struct Progress {
    pub consumer: String,
    pub acked: WalPos,
}

impl actix::Message for Progress {
    type Result = ();
}

/// Removes a consumer (a shipper that was removed from the config), so it no longer holds
/// segments back.
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    pub consumer: String,
}

impl actix::Message for Unsubscribe {
    type Result = ();
}
