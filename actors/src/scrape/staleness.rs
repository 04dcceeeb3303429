//! Which series went away: Prometheus's `seriesPrev`/`seriesCur` staleness tracking.
//!
//! A series exposed by the previous successful scrape but not by this one gets a StaleNaN
//! sample at this scrape's time, so queries stop returning it at once instead of for five
//! minutes. A failed scrape or a stopped target makes every series of the last successful
//! scrape stale. Series with an explicit timestamp are not tracked, as in Prometheus.
//!
//! References of series first seen in this scrape are only known once the WAL has made the
//! append durable, so a scrape is tracked with [`SeriesId`]s and resolved on
//! [`StalenessTracker::commit`]; an append that failed is forgotten with
//! [`StalenessTracker::abort`], and the next scrape compares against the last committed one.

use std::collections::HashMap;

use super::fast_hash::FastHashBuilder;

use crate::sample::SeriesRef;
use crate::wal::SeriesId;

/// Series of the previous and of the current scrape, keyed by a hash of their final labels.
#[derive(Debug, Default)]
pub struct StalenessTracker {
    /// Always `SeriesId::Ref`s; the same map type as `cur` so committing is a swap.
    prev: HashMap<u64, SeriesId, FastHashBuilder>,
    cur: HashMap<u64, SeriesId, FastHashBuilder>,
}

impl StalenessTracker {
    /// Records that the series with label hash `hash` is exposed by the current scrape.
    pub fn track(&mut self, hash: u64, id: SeriesId) {
        self.cur.insert(hash, id);
    }

    /// Forgets what the current scrape tracked: used when it failed, so every series of the
    /// previous scrape turns stale.
    pub fn discard_current(&mut self) {
        self.cur.clear();
    }

    /// References of series seen in the previous scrape and not in the current one.
    pub fn stale(&self) -> impl Iterator<Item = SeriesRef> + '_ {
        self.prev
            .iter()
            .filter(|(h, _)| !self.cur.contains_key(h))
            .filter_map(|(_, id)| match id {
                SeriesId::Ref(r) => Some(*r),
                SeriesId::New(_) => None,
            })
    }

    /// The current scrape is durable: it becomes the previous one. `new_refs` are the
    /// references the WAL assigned to the append's new series, in order.
    pub fn commit(&mut self, new_refs: &[SeriesRef]) {
        let mut unresolved = false;
        for id in self.cur.values_mut() {
            if let SeriesId::New(i) = *id {
                match new_refs.get(i as usize) {
                    Some(r) => *id = SeriesId::Ref(*r),
                    None => unresolved = true,
                }
            }
        }
        if unresolved {
            self.cur.retain(|_, id| matches!(id, SeriesId::Ref(_)));
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.cur.clear();
    }

    /// The current scrape was not made durable: the previous one stays the reference.
    pub fn abort(&mut self) {
        self.cur.clear();
    }

    #[cfg(test)]
    /// Number of series the last committed scrape exposed.
    pub fn previous_len(&self) -> usize {
        self.prev.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale_sorted(t: &StalenessTracker) -> Vec<SeriesRef> {
        let mut v: Vec<_> = t.stale().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn vanished_series_are_stale_once() {
        let mut t = StalenessTracker::default();
        t.track(1, SeriesId::New(0));
        t.track(2, SeriesId::New(1));
        t.track(3, SeriesId::Ref(30));
        assert_eq!(stale_sorted(&t), Vec::<SeriesRef>::new());
        t.commit(&[10, 20]);

        t.track(1, SeriesId::Ref(10));
        assert_eq!(stale_sorted(&t), [20, 30]);
        t.commit(&[]);

        // Already marked stale last time: not again.
        t.track(1, SeriesId::Ref(10));
        assert_eq!(stale_sorted(&t), Vec::<SeriesRef>::new());
        t.commit(&[]);
        assert_eq!(t.previous_len(), 1);
    }

    #[test]
    fn failed_scrape_makes_everything_stale_and_aborted_append_changes_nothing() {
        let mut t = StalenessTracker::default();
        t.track(1, SeriesId::Ref(10));
        t.track(2, SeriesId::Ref(20));
        t.commit(&[]);

        // The WAL append failed: next scrape still compares with {10, 20}.
        t.track(1, SeriesId::Ref(10));
        t.abort();
        t.track(1, SeriesId::Ref(10));
        assert_eq!(stale_sorted(&t), [20]);

        // A failed scrape: everything previous is stale, and then nothing is.
        t.discard_current();
        assert_eq!(stale_sorted(&t), [10, 20]);
        t.commit(&[]);
        assert_eq!(t.previous_len(), 0);
        assert_eq!(stale_sorted(&t), Vec::<SeriesRef>::new());
    }

    #[test]
    fn a_new_series_without_a_returned_ref_is_not_tracked() {
        let mut t = StalenessTracker::default();
        t.track(1, SeriesId::New(5));
        t.commit(&[1]);
        assert_eq!(t.previous_len(), 0);
    }
}
