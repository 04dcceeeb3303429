//! The scrape cache: Prometheus's design, keyed by the series' name and label block exactly as
//! the target wrote them, but holding only a 128-bit hash of that text ([`CacheKey`]).
//!
//! A hit gives the WAL reference, so a series seen before costs a hash lookup and no label
//! parsing, relabelling or allocation. Series that
//! metric relabelling drops are cached too, so they are not relabelled again. Entries not seen
//! by a successful scrape are removed after it, which bounds the cache to one scrape's worth
//! of series plus churn.
//!
//! **Why a hash, not the text.** Keeping the text cost an allocation of ~100 bytes per series
//! and, on every hit, a comparison that touched that cold allocation: it was the largest single
//! item of the scrape path's CPU and a sixth of the agent's memory at 100k series. Two texts
//! collide in 128 bits with probability about `n^2 / 2^129` (below 10^-30 for a target of a
//! million series). Only a target's own texts share a cache, so a target that crafted a
//! collision could only mislabel its own samples, which it can do by exposing other values.
//!
//! **Why the entry is packed.** Every target keeps its cache for as long as it lives, sized
//! for a table of twice its series, so each byte of an entry costs ~400 KB across 50 targets
//! of 2,000 series. The key is two `u64`s (a `u128` would align the entry to 16 bytes), a
//! dropped series is a reserved reference rather than an enum tag, and the scrape iteration
//! is 32 bits: 32 bytes an entry instead of 48.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::fast_hash::FastHashBuilder;

use crate::sample::SeriesRef;

/// The cache's key: the xxh3-128 of a series text, as two halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheKey([u64; 2]);

/// The key is already a hash: its low half goes to the table's pass-through hasher as is
/// (a derived `Hash` would feed both halves through xxh3 again, as a byte slice).
impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

impl CacheKey {
    pub fn of(series_text: &[u8]) -> Self {
        let h = xxhash_rust::xxh3::xxh3_128(series_text);
        Self([h as u64, (h >> 64) as u64])
    }
}

/// What the cache knows about a series text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cached {
    /// Stored under `series_ref`.
    Series { series_ref: SeriesRef },
    /// Dropped by metric relabelling.
    Dropped,
}

/// The reference that stands for [`Cached::Dropped`]: the WAL assigns references upwards
/// from 1, so it never reaches this one.
const DROPPED: SeriesRef = SeriesRef::MAX;

#[derive(Debug)]
struct Entry {
    /// The series' reference, or [`DROPPED`].
    series_ref: SeriesRef,
    /// The scrape iteration that last saw it (wrapping, only compared for equality).
    last_iter: u32,
}

impl Entry {
    fn cached(&self) -> Cached {
        match self.series_ref {
            DROPPED => Cached::Dropped,
            series_ref => Cached::Series { series_ref },
        }
    }
}

/// Series text -> what it became.
#[derive(Debug, Default)]
pub struct ScrapeCache {
    entries: HashMap<CacheKey, Entry, FastHashBuilder>,
    iter: u32,
}

impl ScrapeCache {
    /// Looks `key` up and marks it as seen by the current scrape.
    pub fn get(&mut self, key: CacheKey) -> Option<Cached> {
        let iter = self.iter;
        self.entries.get_mut(&key).map(|e| {
            e.last_iter = iter;
            e.cached()
        })
    }

    pub fn insert(&mut self, key: CacheKey, cached: Cached) {
        let series_ref = match cached {
            Cached::Series { series_ref } => series_ref,
            Cached::Dropped => DROPPED,
        };
        self.entries.insert(
            key,
            Entry {
                series_ref,
                last_iter: self.iter,
            },
        );
    }

    /// Ends a successful scrape: forgets entries it did not see and starts a new iteration.
    pub fn end_successful_scrape(&mut self) {
        let iter = self.iter;
        self.entries.retain(|_, e| e.last_iter == iter);
        self.iter = self.iter.wrapping_add(1);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_unseen_by_a_successful_scrape_are_forgotten() {
        let mut c = ScrapeCache::default();
        c.insert(
            CacheKey::of(b"a{x=\"1\"}"),
            Cached::Series { series_ref: 1 },
        );
        c.insert(CacheKey::of(b"b"), Cached::Dropped);
        c.end_successful_scrape();
        assert_eq!(
            c.get(CacheKey::of(b"a{x=\"1\"}")),
            Some(Cached::Series { series_ref: 1 })
        );
        assert_eq!(c.get(CacheKey::of(b"a{x=\"2\"}")), None);
        c.end_successful_scrape();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(CacheKey::of(b"b")), None);
    }

    #[test]
    fn entries_are_packed() {
        assert_eq!(std::mem::size_of::<(CacheKey, Entry)>(), 32);
    }
}
