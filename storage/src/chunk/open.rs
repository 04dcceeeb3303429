//! The open chunk: the samples of one series not yet sealed, kept raw so that sealing can
//! pick the encoding and bit widths that fit the whole chunk.
//!
//! It enforces the chunk's one ordering rule: strictly increasing timestamps. Reordering
//! out-of-order samples is the head's job; here they are an [`AppendError::OutOfOrder`]. A
//! repeat of the last timestamp with the same value (bit for bit, so a repeated StaleNaN is a
//! repeat and `-0.0` after `0.0` is not) is reported as [`Appended::Duplicate`] and stored
//! once; with another value it is an [`AppendError::ConflictingValue`] for the caller to
//! decide about.
//!
//! Raw samples cost 16 bytes each while open; with the 120-sample target that is under 2 KiB
//! per active series, traded for a sealed size well below plain Gorilla's.

use super::error::AppendError;
use super::sample::Sample;
use super::sealed::{Chunk, MAX_SAMPLES};

/// Samples after which a chunk should be cut (Prometheus's figure).
pub const TARGET_SAMPLES: usize = 120;
/// Time span after which a chunk should be cut, whatever its sample count: two hours.
pub const MAX_SPAN_MS: i64 = 2 * 60 * 60 * 1000;

/// What [`OpenChunk::append`] did with a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The sample is now the chunk's last.
    Added,
    /// The chunk already ended with this exact sample; nothing changed.
    Duplicate,
}

/// Samples of one series in strictly increasing timestamp order, not yet encoded.
#[derive(Debug, Clone, Default)]
pub struct OpenChunk {
    samples: Vec<Sample>,
}

impl OpenChunk {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `(t, v)` after the last sample; see the module header for the rules.
    pub fn append(&mut self, t: i64, v: f64) -> Result<Appended, AppendError> {
        if let Some(last) = self.samples.last() {
            if t < last.t {
                return Err(AppendError::OutOfOrder { t, last_t: last.t });
            }
            if t == last.t {
                return if v.to_bits() == last.v.to_bits() {
                    Ok(Appended::Duplicate)
                } else {
                    Err(AppendError::ConflictingValue {
                        t,
                        existing: last.v,
                        new: v,
                    })
                };
            }
        }
        if self.samples.len() >= MAX_SAMPLES {
            return Err(AppendError::Full { limit: MAX_SAMPLES });
        }
        self.samples.push(Sample { t, v });
        Ok(Appended::Added)
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn min_t(&self) -> Option<i64> {
        self.samples.first().map(|s| s.t)
    }

    pub fn max_t(&self) -> Option<i64> {
        self.samples.last().map(|s| s.t)
    }

    /// The samples appended so far, for reads that reach into the head.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Whether the chunk has reached [`TARGET_SAMPLES`] or spans [`MAX_SPAN_MS`], so the
    /// next sample should start a new one.
    pub fn is_full(&self) -> bool {
        let span = match (self.min_t(), self.max_t()) {
            (Some(min), Some(max)) => max.saturating_sub(min),
            _ => 0,
        };
        self.samples.len() >= TARGET_SAMPLES || span >= MAX_SPAN_MS
    }

    /// Encodes the samples into a sealed chunk; `None` when there are none.
    pub fn seal(self) -> Option<Chunk> {
        (!self.samples.is_empty()).then(|| Chunk::encode(&self.samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

    #[test]
    fn timestamps_must_increase() {
        let mut c = OpenChunk::new();
        assert_eq!(c.append(1_000, 1.0), Ok(Appended::Added));
        assert_eq!(c.append(2_000, 2.0), Ok(Appended::Added));
        assert_eq!(
            c.append(1_500, 3.0),
            Err(AppendError::OutOfOrder {
                t: 1_500,
                last_t: 2_000
            })
        );
        assert_eq!(c.len(), 2);
        assert_eq!((c.min_t(), c.max_t()), (Some(1_000), Some(2_000)));
    }

    #[test]
    fn a_repeated_sample_is_reported_and_stored_once() {
        let mut c = OpenChunk::new();
        c.append(1_000, 1.5).unwrap();
        assert_eq!(c.append(1_000, 1.5), Ok(Appended::Duplicate));
        c.append(2_000, STALE_NAN).unwrap();
        assert_eq!(c.append(2_000, STALE_NAN), Ok(Appended::Duplicate));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn another_value_at_the_same_timestamp_is_a_conflict() {
        let mut c = OpenChunk::new();
        c.append(1_000, 0.0).unwrap();
        assert!(matches!(
            c.append(1_000, -0.0),
            Err(AppendError::ConflictingValue { t: 1_000, .. })
        ));
        assert!(matches!(
            c.append(1_000, f64::NAN),
            Err(AppendError::ConflictingValue { t: 1_000, .. })
        ));
        c.append(2_000, f64::NAN).unwrap();
        assert!(matches!(
            c.append(2_000, STALE_NAN),
            Err(AppendError::ConflictingValue { t: 2_000, .. })
        ));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn the_format_limit_is_enforced() {
        let mut c = OpenChunk::new();
        for i in 0..MAX_SAMPLES as i64 {
            c.append(i, 0.0).unwrap();
        }
        assert_eq!(
            c.append(MAX_SAMPLES as i64, 0.0),
            Err(AppendError::Full { limit: MAX_SAMPLES })
        );
        // A duplicate of the last sample is still recognised.
        assert_eq!(
            c.append(MAX_SAMPLES as i64 - 1, 0.0),
            Ok(Appended::Duplicate)
        );
        let chunk = c.seal().unwrap();
        assert_eq!(chunk.len(), MAX_SAMPLES);
        assert_eq!(chunk.samples().unwrap().len(), MAX_SAMPLES);
    }

    #[test]
    fn full_after_the_target_count_or_the_span() {
        let mut c = OpenChunk::new();
        for i in 0..TARGET_SAMPLES as i64 {
            assert!(!c.is_full());
            c.append(i * 15_000, 1.0).unwrap();
        }
        assert!(c.is_full());
        let mut sparse = OpenChunk::new();
        sparse.append(0, 1.0).unwrap();
        sparse.append(MAX_SPAN_MS - 1, 1.0).unwrap();
        assert!(!sparse.is_full());
        sparse.append(MAX_SPAN_MS, 1.0).unwrap();
        assert!(sparse.is_full());
    }

    #[test]
    fn sealing_nothing_gives_no_chunk() {
        assert!(OpenChunk::new().seal().is_none());
        let mut c = OpenChunk::new();
        c.append(-5, 2.5).unwrap();
        let chunk = c.seal().unwrap();
        assert_eq!((chunk.len(), chunk.min_t(), chunk.max_t()), (1, -5, -5));
        assert_eq!(chunk.samples().unwrap(), vec![Sample { t: -5, v: 2.5 }]);
    }
}
