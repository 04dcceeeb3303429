//! The scrape cache: Prometheus's design, keyed by the series' name and label block exactly as
//! the target wrote them, but holding only a 128-bit hash of that text ([`CacheKey`]).
//!
//! A hit gives the WAL reference and the label hash used for staleness, so a series seen
//! before costs a hash lookup and no label parsing, relabelling or allocation. Series that
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

use std::collections::HashMap;

use super::fast_hash::FastHashBuilder;

use crate::sample::SeriesRef;

/// The cache's key: the xxh3-128 of a series text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(u128);

impl CacheKey {
    pub fn of(series_text: &[u8]) -> Self {
        Self(xxhash_rust::xxh3::xxh3_128(series_text))
    }
}

/// What the cache knows about a series text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cached {
    /// Stored under `series_ref`; `hash` is the stable hash of its final labels.
    Series { series_ref: SeriesRef, hash: u64 },
    /// Dropped by metric relabelling.
    Dropped,
}

#[derive(Debug)]
struct Entry {
    cached: Cached,
    last_iter: u64,
}

/// Series text -> what it became.
#[derive(Debug, Default)]
pub struct ScrapeCache {
    entries: HashMap<CacheKey, Entry, FastHashBuilder>,
    iter: u64,
}

impl ScrapeCache {
    /// Looks `key` up and marks it as seen by the current scrape.
    pub fn get(&mut self, key: CacheKey) -> Option<Cached> {
        let iter = self.iter;
        self.entries.get_mut(&key).map(|e| {
            e.last_iter = iter;
            e.cached
        })
    }

    pub fn insert(&mut self, key: CacheKey, cached: Cached) {
        self.entries.insert(
            key,
            Entry {
                cached,
                last_iter: self.iter,
            },
        );
    }

    /// Ends a successful scrape: forgets entries it did not see and starts a new iteration.
    pub fn end_successful_scrape(&mut self) {
        let iter = self.iter;
        self.entries.retain(|_, e| e.last_iter == iter);
        self.iter += 1;
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
            Cached::Series {
                series_ref: 1,
                hash: 9,
            },
        );
        c.insert(CacheKey::of(b"b"), Cached::Dropped);
        c.end_successful_scrape();
        assert_eq!(
            c.get(CacheKey::of(b"a{x=\"1\"}")),
            Some(Cached::Series {
                series_ref: 1,
                hash: 9
            })
        );
        assert_eq!(c.get(CacheKey::of(b"a{x=\"2\"}")), None);
        c.end_successful_scrape();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(CacheKey::of(b"b")), None);
    }
}
