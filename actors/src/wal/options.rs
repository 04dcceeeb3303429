//! How the WAL is configured: where it lives, how big segments get, its disk budget and how
//! long appends wait to share an fsync.

use std::path::PathBuf;
use std::time::Duration;

use super::error::WalError;
use super::retention::Budget;

/// The default segment size, as in Prometheus.
pub const DEFAULT_SEGMENT_SIZE: u64 = 32 << 20;

/// The smallest segment size accepted (tests use small segments to exercise rollover).
pub const MIN_SEGMENT_SIZE: u64 = 1 << 10;

/// The largest segment size accepted: offsets are 32-bit, and a segment may overshoot its
/// size by one record.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// The default group-commit window.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(10);

/// Options of the Wal actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// The WAL directory (`<storage.agent.path>/wal`); created when missing.
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes.
    pub segment_size: u64,
    /// Size budget over all segments; 0 means unlimited. Beyond it the oldest segments are
    /// deleted even when not every endpoint has acknowledged them (the loss is counted).
    pub max_bytes: u64,
    /// Age budget: a segment whose newest sample is older than this is deleted even when
    /// unacknowledged. Zero means unlimited.
    pub max_age: Duration,
    /// How long the first append of a group waits for others before the shared fsync.
    /// Longer windows mean fewer fsyncs and later acknowledgements.
    pub commit_interval: Duration,
}

impl Default for WalOptions {
    /// 32 MiB segments, no budget, a 10 ms commit window, in `data-agent/wal` (the WAL
    /// directory under Prometheus's default `--storage.agent.path`).
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data-agent/wal"),
            segment_size: DEFAULT_SEGMENT_SIZE,
            max_bytes: 0,
            max_age: Duration::ZERO,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
        }
    }
}

impl WalOptions {
    /// The default options for the WAL in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), WalError> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            return Err(WalError::SegmentSizeOutOfRange {
                size: self.segment_size,
                min: MIN_SEGMENT_SIZE,
                max: MAX_SEGMENT_SIZE,
            });
        }
        Ok(())
    }

    pub fn budget(&self) -> Budget {
        Budget {
            max_bytes: self.max_bytes,
            max_age_ms: i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_size_is_bounded_and_budget_converts() {
        let mut o = WalOptions::new("/tmp/x");
        assert!(o.validate().is_ok());
        o.segment_size = 2 << 30;
        assert!(
            matches!(o.validate(), Err(WalError::SegmentSizeOutOfRange { size, .. }) if size == 2 << 30)
        );
        o.max_age = Duration::from_secs(2);
        o.max_bytes = 7;
        assert_eq!(
            o.budget(),
            Budget {
                max_bytes: 7,
                max_age_ms: 2000
            }
        );
    }
}
