//! The store's settings, fixed when it is opened. They decide which samples a batch accepts,
//! so every replica of a shard must use the same values.

/// Settings of a [`Tsdb`](super::Tsdb).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsdbOptions {
    /// How far behind the shard's newest sample a sample may be and still be accepted (ms),
    /// in order or not (`--storage.out-of-order-window`, default 1 h).
    pub out_of_order_window_ms: i64,
    /// How long samples are kept (ms), measured back from the shard's newest sample; samples
    /// older than that are refused (`--storage.retention`, default 15 days, as Prometheus).
    /// Deleting old data is [`Tsdb::delete_before`](super::Tsdb::delete_before)'s job.
    pub retention_ms: i64,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        Self {
            out_of_order_window_ms: 60 * 60 * 1000,
            retention_ms: 15 * 24 * 60 * 60 * 1000,
        }
    }
}

impl TsdbOptions {
    /// The oldest timestamp a sample may have when the shard's newest is `max_t`.
    pub(crate) fn min_valid_t(&self, max_t: Option<i64>) -> i64 {
        let lag = self.out_of_order_window_ms.min(self.retention_ms).max(0);
        max_t.map_or(super::partition::MIN_T, |max_t| {
            max_t.saturating_sub(lag).max(super::partition::MIN_T)
        })
    }
}
