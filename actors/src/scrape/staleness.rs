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
//!
//! **Why sorted reference vectors, not hash maps.** A series' [`SeriesId`] already identifies
//! it within a scrape (the scrape loop gives two spellings of one new series the same
//! `New` index, and a cached spelling carries the series' reference), so no label hash is
//! needed. Every target keeps two of these sets for as long as it lives; as hash maps sized for
//! a 2,000-series target they cost ~200 KB per target, as sorted `Vec<SeriesRef>`s ~32 KB.
//! Sorting costs little: references of cached series arrive mostly in ascending order.

use crate::sample::SeriesRef;
use crate::wal::SeriesId;

/// Series of the previous and of the current scrape.
#[derive(Debug, Default)]
pub struct StalenessTracker {
    /// References of the last committed scrape, sorted and without duplicates.
    prev: Vec<SeriesRef>,
    /// References of already known series the current scrape exposed, in scrape order until
    /// [`StalenessTracker::stale`] or [`StalenessTracker::commit`] sorts them.
    cur: Vec<SeriesRef>,
    /// `Append::new_series` indices of the new series the current scrape exposed.
    cur_new: Vec<u32>,
}

impl StalenessTracker {
    /// Records that the series `id` is exposed by the current scrape.
    pub fn track(&mut self, id: SeriesId) {
        match id {
            SeriesId::Ref(r) => self.cur.push(r),
            SeriesId::New(i) => self.cur_new.push(i),
        }
    }

    /// Forgets what the current scrape tracked: used when it failed, so every series of the
    /// previous scrape turns stale.
    pub fn discard_current(&mut self) {
        self.cur.clear();
        self.cur_new.clear();
    }

    /// References of series seen in the previous scrape and not in the current one. (New
    /// series cannot be in the previous scrape, so only known references are compared.)
    pub fn stale(&mut self) -> impl Iterator<Item = SeriesRef> + '_ {
        self.cur.sort_unstable();
        self.cur.dedup();
        let mut cur = self.cur.iter().copied().peekable();
        self.prev.iter().copied().filter(move |r| {
            while cur.next_if(|c| c < r).is_some() {}
            cur.peek() != Some(r)
        })
    }

    /// The current scrape is durable: it becomes the previous one. `new_refs` are the
    /// references the WAL assigned to the append's new series, in order; a new series without
    /// one is not tracked.
    pub fn commit(&mut self, new_refs: &[SeriesRef]) {
        let resolved = self
            .cur_new
            .iter()
            .filter_map(|&i| new_refs.get(i as usize));
        self.cur.extend(resolved);
        self.cur.sort_unstable();
        self.cur.dedup();
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.discard_current();
    }

    /// The current scrape was not made durable: the previous one stays the reference.
    pub fn abort(&mut self) {
        self.discard_current();
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

    fn stale_sorted(t: &mut StalenessTracker) -> Vec<SeriesRef> {
        let mut v: Vec<_> = t.stale().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn vanished_series_are_stale_once() {
        let mut t = StalenessTracker::default();
        t.track(SeriesId::New(0));
        t.track(SeriesId::New(1));
        t.track(SeriesId::Ref(30));
        assert_eq!(stale_sorted(&mut t), Vec::<SeriesRef>::new());
        t.commit(&[10, 20]);

        t.track(SeriesId::Ref(10));
        assert_eq!(stale_sorted(&mut t), [20, 30]);
        t.commit(&[]);

        // Already marked stale last time: not again.
        t.track(SeriesId::Ref(10));
        assert_eq!(stale_sorted(&mut t), Vec::<SeriesRef>::new());
        t.commit(&[]);
        assert_eq!(t.previous_len(), 1);
    }

    #[test]
    fn duplicates_and_unordered_references_compare_as_sets() {
        let mut t = StalenessTracker::default();
        for r in [50, 7, 30, 7, 1] {
            t.track(SeriesId::Ref(r));
        }
        // Two spellings of one new series share its index.
        t.track(SeriesId::New(0));
        t.track(SeriesId::New(0));
        t.commit(&[40]);
        assert_eq!(t.previous_len(), 5);

        for r in [40, 50, 1, 50] {
            t.track(SeriesId::Ref(r));
        }
        assert_eq!(stale_sorted(&mut t), [7, 30]);
        assert_eq!(
            stale_sorted(&mut t),
            [7, 30],
            "asking twice changes nothing"
        );
    }

    #[test]
    fn failed_scrape_makes_everything_stale_and_aborted_append_changes_nothing() {
        let mut t = StalenessTracker::default();
        t.track(SeriesId::Ref(10));
        t.track(SeriesId::Ref(20));
        t.commit(&[]);

        // The WAL append failed: next scrape still compares with {10, 20}.
        t.track(SeriesId::Ref(10));
        t.abort();
        t.track(SeriesId::Ref(10));
        assert_eq!(stale_sorted(&mut t), [20]);

        // A failed scrape: everything previous is stale, and then nothing is.
        t.discard_current();
        assert_eq!(stale_sorted(&mut t), [10, 20]);
        t.commit(&[]);
        assert_eq!(t.previous_len(), 0);
        assert_eq!(stale_sorted(&mut t), Vec::<SeriesRef>::new());
    }

    #[test]
    fn a_new_series_without_a_returned_ref_is_not_tracked() {
        let mut t = StalenessTracker::default();
        t.track(SeriesId::New(5));
        t.commit(&[1]);
        assert_eq!(t.previous_len(), 0);
    }
}
