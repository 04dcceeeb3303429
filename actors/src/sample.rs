//! Samples and the staleness marker.

/// The bit pattern Prometheus uses to mark a series stale (`value.StaleNaN`). It is a NaN, so
/// it must be compared by bits, never with `==`.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` is the staleness marker (and not any other NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A series reference assigned by the WAL. It is stable for the life of the WAL directory.
pub type SeriesRef = u64;

/// One sample of a series already known to the WAL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefSample {
    pub series: SeriesRef,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_distinguished_from_other_nans() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert!(stale_nan().is_nan());
    }
}
