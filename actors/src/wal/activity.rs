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
//!
//! **Why a window of slots, not a map.** The WAL assigns references upwards from 1, so the
//! known ones fill a dense range: one `i64` slot per reference between the oldest and the
//! newest known one costs 8 bytes a series, where a hash map entry cost ~17 bytes plus its
//! growth slack (~2 MB at 100k series). Forgotten references leave empty slots, which are
//! released once they reach either end of the window.

use std::collections::VecDeque;
use std::hash::Hasher;

use super::segment::SegmentMeta;
use crate::sample::SeriesRef;

/// How long a series without retained samples stays live after its newest sample.
pub const LIVENESS_WINDOW_MS: i64 = 3_600_000;

/// An unknown reference's slot. Sample timestamps are clamped below it.
const ABSENT: i64 = i64::MAX;

/// Newest sample timestamp of every series the WAL knows.
#[derive(Debug, Default)]
pub struct SeriesActivity {
    /// The reference of `newest[0]`.
    base: SeriesRef,
    /// Newest sample timestamp (`i64::MIN`: none yet) of each reference from `base`, or
    /// [`ABSENT`]; both ends are known references.
    newest: VecDeque<i64>,
    count: usize,
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
        if self.newest.is_empty() {
            self.base = series;
        }
        if series < self.base {
            for _ in series..self.base {
                self.newest.push_front(ABSENT);
            }
            self.base = series;
        }
        let index = (series - self.base) as usize;
        if index >= self.newest.len() {
            self.newest.resize(index + 1, ABSENT);
        }
        if self.newest[index] == ABSENT {
            self.newest[index] = i64::MIN;
            self.count += 1;
        }
    }

    fn slot(&self, series: SeriesRef) -> Option<&i64> {
        let index = usize::try_from(series.checked_sub(self.base)?).ok()?;
        self.newest.get(index).filter(|&&t| t != ABSENT)
    }

    pub fn contains(&self, series: SeriesRef) -> bool {
        self.slot(series).is_some()
    }

    /// Records a sample; false when the series is unknown.
    pub fn observe(&mut self, series: SeriesRef, t: i64) -> bool {
        if !self.contains(series) {
            return false;
        }
        let newest = &mut self.newest[(series - self.base) as usize];
        *newest = (*newest).max(t.min(ABSENT - 1));
        true
    }

    pub fn is_live(&self, series: SeriesRef, horizon: i64) -> bool {
        self.slot(series).is_some_and(|&t| t >= horizon)
    }

    pub fn forget(&mut self, series: SeriesRef) {
        if !self.contains(series) {
            return;
        }
        self.newest[(series - self.base) as usize] = ABSENT;
        self.count -= 1;
        while self.newest.back() == Some(&ABSENT) {
            self.newest.pop_back();
        }
        while self.newest.front() == Some(&ABSENT) {
            self.newest.pop_front();
            self.base += 1;
        }
        if self.newest.capacity() > 2 * self.newest.len() + 1024 {
            self.newest.shrink_to_fit();
        }
    }

    /// How many series are known.
    pub fn count(&self) -> usize {
        self.count
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

    #[test]
    fn references_defined_in_any_order_and_forgotten_in_the_middle() {
        let mut a = SeriesActivity::default();
        for r in [10, 12, 7, 10] {
            a.define(r);
        }
        assert_eq!(a.count(), 3);
        assert!(!a.contains(8) && !a.contains(11) && !a.contains(13) && !a.contains(0));
        assert!(
            a.observe(7, i64::MAX),
            "an extreme timestamp keeps the series known"
        );
        assert!(a.contains(7) && a.is_live(7, i64::MAX - 1));
        a.forget(10);
        a.forget(10);
        assert_eq!(a.count(), 2);
        assert!(a.contains(12) && !a.contains(10));
        a.forget(7);
        assert!(a.contains(12));
        assert!(!a.observe(7, 1));
        a.forget(12);
        assert_eq!(a.count(), 0);
        a.define(3);
        assert!(a.contains(3) && !a.contains(12));
    }
}
