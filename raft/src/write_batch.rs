//! The write batch a shard group replicates: the part of one (or several group-committed)
//! remote-write requests whose series hash to that shard.
//!
//! These are Raft's own serde types, not storage's input type: the log format must stay stable
//! while storage evolves, and the shard state machine converts a batch into storage's input when
//! it applies it. Labels are carried as sorted `(name, value)` pairs because the receiver has
//! already validated and sorted them, and the shard state machine assigns series ids
//! deterministically from exactly these bytes on every replica.

use serde::{Deserialize, Serialize};

/// Samples for one tenant, bound for one shard, applied atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBatch {
    /// The tenant the series belong to (part of the shard hash and of the series identity).
    pub tenant: String,
    /// The sender's idempotency identity, when it has one (a Skyview agent does; a stock
    /// Prometheus does not). The shard state machine applies an identified batch at most once.
    pub identity: Option<BatchIdentity>,
    /// The series in this batch, each with its samples.
    pub series: Vec<SeriesSamples>,
}

/// An agent's identity for a batch: the range of its WAL positions `first..=last` on one queue.
///
/// Retries of the same batch (to any node, after a leader change or an agent restart) carry the
/// same identity, which is what makes dedup possible (invariant I2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchIdentity {
    /// The agent's stable name.
    pub agent: String,
    /// The agent's remote-write queue: its index among the shards of one `remote_write`
    /// endpoint, as in the `X-Skyview-Batch` header and storage's batch key.
    pub queue: u32,
    /// First WAL position in the batch.
    pub first: u64,
    /// Last WAL position in the batch (inclusive).
    pub last: u64,
}

/// One series and its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSamples {
    /// Label pairs sorted by name, `__name__` included; validated before proposing.
    pub labels: Vec<(String, String)>,
    /// Samples, in the order the sender gave them.
    pub samples: Vec<Sample>,
}

/// One sample. NaN values (including Prometheus's StaleNaN bit pattern) are legal and kept as is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the Unix epoch, as in remote-write.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

/// What applying a write batch did, returned to the proposer once the entry is applied.
///
/// Refused samples do not fail the batch (the rest of it is stored, as Prometheus does); the
/// receiver answers 400 with [`first_rejection`](Self::first_rejection) so the sender does not
/// retry what can never be stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriteOutcome {
    /// Samples stored by this batch (in order or inside the out-of-order window).
    pub samples_applied: u64,
    /// Samples skipped because the same (series, timestamp, value) was already stored.
    pub samples_duplicate: u64,
    /// True when the whole batch was skipped because its identity was already applied.
    pub batch_duplicate: bool,
    /// Samples refused: outside the storable range, older than the out-of-order window,
    /// another value at a stored timestamp, or a series whose labels are not valid.
    pub samples_rejected: u64,
    /// Prometheus-style message for the first refused sample, e.g.
    /// `out of bounds: series {__name__="x",job="y"} timestamp 123`, `too old sample: ...` or
    /// `duplicate sample for timestamp: ...`.
    pub first_rejection: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus's staleness marker: a NaN with a specific payload, which must survive the log
    /// bit for bit (a plain NaN would not mark the series stale).
    const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

    #[test]
    fn nan_payloads_survive_encoding_bit_for_bit() {
        let batch = WriteBatch {
            tenant: "t".into(),
            identity: None,
            series: vec![SeriesSamples {
                labels: vec![("__name__".into(), "up".into())],
                samples: vec![
                    Sample {
                        timestamp_ms: -5,
                        value: f64::from_bits(STALE_NAN_BITS),
                    },
                    Sample {
                        timestamp_ms: 7,
                        value: f64::INFINITY,
                    },
                ],
            }],
        };
        let bytes = postcard::to_stdvec(&batch).unwrap();
        let back: WriteBatch = postcard::from_bytes(&bytes).unwrap();
        let values: Vec<u64> = back.series[0]
            .samples
            .iter()
            .map(|s| s.value.to_bits())
            .collect();
        assert_eq!(values, [STALE_NAN_BITS, f64::INFINITY.to_bits()]);
        assert_eq!(back.series[0].samples[0].timestamp_ms, -5);
    }

    #[test]
    fn identity_round_trips() {
        let batch = WriteBatch {
            tenant: "t".into(),
            identity: Some(BatchIdentity {
                agent: "edge-1".into(),
                queue: 0,
                first: 100,
                last: 199,
            }),
            series: Vec::new(),
        };
        let bytes = postcard::to_stdvec(&batch).unwrap();
        assert_eq!(postcard::from_bytes::<WriteBatch>(&bytes).unwrap(), batch);
    }
}
