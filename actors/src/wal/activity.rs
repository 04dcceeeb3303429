//! Which series are live, so a checkpoint keeps their definitions when segments are deleted.
//!
//! The rule: a series is **live** while it has samples in a retained segment, or has a sample
//! timestamped within the last hour ([`LIVENESS_WINDOW_MS`]). The second half exists for the
//! Scraper: it caches a series' reference only while the series keeps appearing in every
//! scrape, so a series it may still append to has a recent sample even when the segment that
//! defined it was just deleted. A series that is not live loses its definition; an append that
//! still uses its reference gets `WalError::UnknownSeries`, and the sender re-sends the series
//! as new.
//!
//! Only one number per series is kept (its newest sample timestamp), never its labels, so the
//! WAL's memory does not grow with label sizes. "Has samples in a retained segment" is decided
//! conservatively: a series whose newest sample is not older than the oldest sample of any
//! retained segment is kept (it may keep a few more series than strictly needed, never fewer).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::segment::SegmentMeta;
use crate::sample::SeriesRef;

/// How long a series without retained samples stays live after its newest sample.
pub const LIVENESS_WINDOW_MS: i64 = 3_600_000;

/// Newest sample timestamp of every series the WAL knows.
#[derive(Debug, Default)]
pub struct SeriesActivity {
    newest: HashMap<SeriesRef, i64, BuildHasherDefault<RefHasher>>,
}

/// Hashes a series reference with one multiplication (Fibonacci hashing). Every sample costs
/// a lookup, and SipHash's flooding protection buys nothing here: references are small
/// sequential integers the WAL assigns itself. The multiplication spreads them over the high
/// bits the hash table uses.
#[derive(Debug, Default)]
pub struct RefHasher(u64);

impl Hasher for RefHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl SeriesActivity {
    /// Registers a defined series; one without samples yet is only kept by its own segment.
    pub fn define(&mut self, series: SeriesRef) {
        self.newest.entry(series).or_insert(i64::MIN);
    }

    pub fn contains(&self, series: SeriesRef) -> bool {
        self.newest.contains_key(&series)
    }

    /// Records a sample; false when the series is unknown.
    pub fn observe(&mut self, series: SeriesRef, t: i64) -> bool {
        match self.newest.get_mut(&series) {
            Some(newest) => {
                *newest = (*newest).max(t);
                true
            }
            None => false,
        }
    }

    pub fn is_live(&self, series: SeriesRef, horizon: i64) -> bool {
        self.newest.get(&series).is_some_and(|&t| t >= horizon)
    }

    pub fn forget(&mut self, series: SeriesRef) {
        self.newest.remove(&series);
    }

    /// How many series are known.
    pub fn count(&self) -> usize {
        self.newest.len()
    }
}

/// The oldest newest-sample timestamp a live series may have, given the segments that remain.
pub fn liveness_horizon(retained: &[SegmentMeta], now_ms: i64) -> i64 {
    retained
        .iter()
        .filter_map(|s| s.min_t)
        .fold(now_ms.saturating_sub(LIVENESS_WINDOW_MS), i64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(number: u32, ts: &[i64]) -> SegmentMeta {
        let mut m = SegmentMeta::new(number);
        for &t in ts {
            m.observe(t);
        }
        m
    }

    #[test]
    fn horizon_is_an_hour_ago_or_the_oldest_retained_sample() {
        let now = 10 * LIVENESS_WINDOW_MS;
        assert_eq!(
            liveness_horizon(&[seg(2, &[]), seg(3, &[])], now),
            now - LIVENESS_WINDOW_MS
        );
        assert_eq!(
            liveness_horizon(&[seg(2, &[now - 5, 100]), seg(3, &[now])], now),
            100
        );
        assert_eq!(
            liveness_horizon(&[seg(2, &[now - 5])], now),
            now - LIVENESS_WINDOW_MS
        );
    }

    #[test]
    fn sequential_refs_hash_to_distinct_high_bits() {
        let top7 = |r: u64| {
            let mut h = RefHasher::default();
            h.write_u64(r);
            h.finish() >> 57
        };
        let distinct: std::collections::HashSet<_> = (1..=128).map(top7).collect();
        assert!(
            distinct.len() > 64,
            "only {} distinct control bytes",
            distinct.len()
        );
    }

    #[test]
    fn liveness_follows_the_newest_sample() {
        let mut a = SeriesActivity::default();
        a.define(1);
        a.define(2);
        assert!(a.observe(1, 500));
        assert!(
            a.observe(1, 300),
            "older samples are accepted but do not move the newest"
        );
        assert!(!a.observe(3, 500), "unknown series");
        assert!(a.is_live(1, 500));
        assert!(!a.is_live(1, 501));
        assert!(
            !a.is_live(2, i64::MIN + 1),
            "a series without samples is not live on its own"
        );
        a.forget(1);
        assert!(!a.contains(1));
        assert_eq!(a.count(), 1);
    }
}
