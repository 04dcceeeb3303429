//! What the store is handed to apply: one shard's part of a write, already validated and
//! ordered by the caller (the Raft state machine), with the log position it comes from.

use super::dedup::BatchKey;
use super::labels::LabelSet;
use crate::chunk::Sample;

/// One shard's part of a write request.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBatch {
    /// Part of every series' identity: tenants never share series.
    pub tenant: String,
    /// The agent's idempotency identity; `None` for senders without one (a stock
    /// Prometheus), whose retries are made harmless by per-sample dedup alone.
    pub identity: Option<BatchKey>,
    pub series: Vec<SeriesWrite>,
}

/// Samples for one series, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWrite {
    pub labels: LabelSet,
    pub samples: Vec<Sample>,
}

/// The log position of an applied entry. Storage orders marks by `index` only; `payload` is
/// opaque bytes the caller stores with it (the Raft layer keeps its log id and membership
/// there) and gets back from [`Tsdb::persisted`](super::Tsdb::persisted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliedMark {
    pub index: u64,
    pub payload: Vec<u8>,
}

impl AppliedMark {
    pub(crate) fn encode(&self, max_t: Option<i64>) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.payload.len());
        out.extend_from_slice(&self.index.to_be_bytes());
        match max_t {
            Some(t) => {
                out.push(1);
                out.extend_from_slice(&t.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// The mark and the shard's newest sample time, as [`encode`](Self::encode) wrote them.
    pub(crate) fn decode(bytes: &[u8]) -> Option<(Self, Option<i64>)> {
        let index = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let (max_t, rest) = match bytes.get(8)? {
            0 => (None, &bytes[9..]),
            1 => (
                Some(i64::from_be_bytes(bytes.get(9..17)?.try_into().ok()?)),
                &bytes[17..],
            ),
            _ => return None,
        };
        Some((
            Self {
                index,
                payload: rest.to_vec(),
            },
            max_t,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_with_the_newest_time() {
        let mark = AppliedMark {
            index: 77,
            payload: b"term 3".to_vec(),
        };
        for max_t in [None, Some(-5), Some(i64::MAX)] {
            assert_eq!(
                AppliedMark::decode(&mark.encode(max_t)),
                Some((mark.clone(), max_t))
            );
        }
        assert_eq!(AppliedMark::decode(&[0; 8]), None);
        assert_eq!(AppliedMark::decode(&[0; 9][..]).map(|m| m.1), Some(None));
        assert_eq!(AppliedMark::decode(&[0, 0, 0, 0, 0, 0, 0, 0, 2]), None);
    }
}
