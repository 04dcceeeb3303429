//! Time partitions: the `chunks` column family keys samples by two-hour partition (aligned to
//! the Unix epoch, like Prometheus's blocks), so retention deletes whole partitions as one key
//! range, and a series has one key per partition.

/// Width of a partition: the chunk codec's two-hour span.
pub(crate) const PARTITION_MS: i64 = crate::chunk::MAX_SPAN_MS;

/// Timestamps the store accepts: +/- 2^62 ms (146 million years), so partition arithmetic
/// never overflows.
pub(crate) const MIN_T: i64 = -(1 << 62);
pub(crate) const MAX_T: i64 = 1 << 62;

/// The start of the partition holding `t`, which must be within [`MIN_T`]..=[`MAX_T`].
pub(crate) fn partition_of(t: i64) -> i64 {
    t - t.rem_euclid(PARTITION_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_aligned_floors() {
        assert_eq!(partition_of(0), 0);
        assert_eq!(partition_of(PARTITION_MS - 1), 0);
        assert_eq!(partition_of(PARTITION_MS), PARTITION_MS);
        assert_eq!(partition_of(-1), -PARTITION_MS);
        assert!(partition_of(MIN_T) <= MIN_T);
        assert!(partition_of(MAX_T) <= MAX_T);
    }
}
