//! Batch dedup (invariant I2): an agent's batch carries an identity `(agent, queue, first,
//! last)` taken from its WAL positions, so a retry, even after an agent restart, repeats it.
//! The store keeps, per `(tenant, agent, queue)`, the high-water mark: the largest `last`
//! applied. A batch whose `last` is at or below it was applied before and is skipped whole.
//!
//! A batch that overlaps the mark (`first <= mark < last`) is applied: it carries samples past
//! the mark, and the samples it repeats are stored once by the per-sample rule (a repeated
//! `(series, t)` with the same value is idempotent).
//!
//! Marks live in the `dedup` column family, one key per `(shard, tenant, agent, queue)`, value
//! the mark as u64 big-endian. They are written with the head flush, not with every batch; see
//! the store's durability section for why.

use super::error::StorageError;

/// The idempotency identity of an agent's batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchKey {
    pub agent: String,
    pub queue: u32,
    /// First and last WAL sequence in the batch, `first <= last`.
    pub first: u64,
    pub last: u64,
}

/// What to do with a batch given the stored mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Apply,
    Duplicate { high_water: u64 },
}

impl BatchKey {
    pub(crate) fn check(&self) -> Result<(), StorageError> {
        if self.first > self.last {
            return Err(StorageError::InvalidBatchKey {
                agent: self.agent.clone(),
                queue: self.queue,
                first: self.first,
                last: self.last,
            });
        }
        Ok(())
    }

    /// The decision for this batch against the stored high-water mark.
    pub(crate) fn decide(&self, high_water: Option<u64>) -> Decision {
        match high_water {
            Some(high_water) if self.last <= high_water => Decision::Duplicate { high_water },
            _ => Decision::Apply,
        }
    }
}

pub(crate) fn encode_mark(mark: u64) -> [u8; 8] {
    mark.to_be_bytes()
}

pub(crate) fn decode_mark(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: u64, last: u64) -> BatchKey {
        BatchKey {
            agent: "a".into(),
            queue: 2,
            first,
            last,
        }
    }

    #[test]
    fn batches_at_or_below_the_mark_are_duplicates() {
        assert_eq!(key(1, 10).decide(None), Decision::Apply);
        assert_eq!(
            key(1, 10).decide(Some(10)),
            Decision::Duplicate { high_water: 10 }
        );
        assert_eq!(
            key(3, 5).decide(Some(10)),
            Decision::Duplicate { high_water: 10 }
        );
        assert_eq!(key(11, 20).decide(Some(10)), Decision::Apply);
        // Overlapping: it carries samples past the mark.
        assert_eq!(key(5, 15).decide(Some(10)), Decision::Apply);
    }

    #[test]
    fn reversed_ranges_are_refused() {
        assert!(key(2, 1).check().is_err());
        assert!(key(1, 1).check().is_ok());
        assert_eq!(decode_mark(&encode_mark(42)), Some(42));
        assert_eq!(decode_mark(&[1, 2]), None);
    }
}
