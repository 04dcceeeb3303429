//! What applying a batch did, counted, so the caller can answer the request (a 400 naming the
//! first rejected sample, as Prometheus does, while the rest of the batch stays applied) and
//! count it in its metrics.

/// Why a sample was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Older than the shard's newest sample minus the out-of-order window or the retention.
    TooOld { min_valid_t: i64 },
    /// Another value is already stored at this timestamp (the first write wins).
    Conflict,
    /// Outside the timestamps the store can hold (+/- 2^62 ms).
    OutOfBounds,
}

/// The first refused sample of a batch, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// Index of the series in the batch.
    pub series: usize,
    pub t: i64,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The batch's identity was at or below the stored high-water mark: nothing was applied.
    pub duplicate_batch: Option<u64>,
    /// Series new to the store's disk (a replay after a crash finds the series it had
    /// already written, so it counts fewer than the original apply did).
    pub series_created: u64,
    /// Samples stored in order (into the head).
    pub samples_appended: u64,
    /// Samples accepted out of order (older than their series' open chunk); one that repeats a
    /// stored timestamp is folded away when merged, the first write winning.
    pub samples_out_of_order: u64,
    /// Samples already in the head with the same value: stored once.
    pub samples_duplicate: u64,
    pub rejected_too_old: u64,
    pub rejected_conflict: u64,
    pub rejected_out_of_bounds: u64,
    pub first_rejection: Option<Rejection>,
}

impl ApplyOutcome {
    pub fn rejected(&self) -> u64 {
        self.rejected_too_old + self.rejected_conflict + self.rejected_out_of_bounds
    }

    pub(crate) fn reject(&mut self, series: usize, t: i64, reason: RejectReason) {
        match reason {
            RejectReason::TooOld { .. } => self.rejected_too_old += 1,
            RejectReason::Conflict => self.rejected_conflict += 1,
            RejectReason::OutOfBounds => self.rejected_out_of_bounds += 1,
        }
        self.first_rejection
            .get_or_insert(Rejection { series, t, reason });
    }
}
