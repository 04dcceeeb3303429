//! The entries a group's log store appended and openraft has not read back yet, kept in
//! memory so that applying them does not read and decode them again.
//!
//! openraft 0.9 does not hand appended entries to the state machine: once they commit, its
//! core reads them back from the log store (`get_log_entries(since..end)`) and applies what it
//! read. On the ingest path that read-back (a RocksDB iteration and a postcard decode that
//! allocates every label string again) was about a seventh of the receiver's CPU. The store
//! already held those entries when it wrote them, so it keeps them here and the read-back
//! takes them.
//!
//! A leader's replication streams read the same entries to send them, before the core applies
//! them; they copy from here (a write's payload is shared, so a copy is cheap), where they used
//! to read and decode each entry once per follower.
//!
//! This is only a shortcut, never a source of truth: an entry is kept only after its write
//! was synced, truncation and purge drop what they remove from disk, and any read this cannot
//! answer whole goes to disk. The core's read takes what it returns (it reads each index once,
//! to apply it), so a later read of the same range is answered from disk, which holds the same
//! entries.

use std::collections::VecDeque;

use crate::type_config::Entry;

/// Most bytes (encoded) kept per group. Apply follows append within milliseconds, so a few
/// entries are usually here; the bound matters when apply stalls, and an entry bigger than it
/// is not kept at all.
pub const MAX_BYTES: usize = 16 << 20;

/// Consecutive entries appended and not yet read back, each with its encoded size.
#[derive(Debug, Default)]
pub struct AppendedEntries {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl AppendedEntries {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn last_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index)
    }

    /// Keeps `entry`, written and synced, of `size` encoded bytes. An entry that does not
    /// follow the last one kept (after a gap nothing here knows about) starts over.
    pub fn push(&mut self, entry: Entry, size: usize) {
        if self
            .last_index()
            .is_some_and(|last| last.checked_add(1) != Some(entry.log_id.index))
        {
            self.clear();
        }
        self.bytes += size;
        self.entries.push_back((entry, size));
        while self.bytes > MAX_BYTES {
            self.pop_front();
        }
    }

    /// Takes the entries `start..end` if every one of them is here; entries before `start`
    /// are dropped either way (openraft reads to apply in index order, so they were applied
    /// or read from disk already). `None`: read the range from disk.
    pub fn take(&mut self, start: u64, end: u64) -> Option<Vec<Entry>> {
        while self.first_index().is_some_and(|first| first < start) {
            self.pop_front();
        }
        let last = end.checked_sub(1)?;
        if start >= end || self.first_index() != Some(start) || self.last_index()? < last {
            return None;
        }
        let count = usize::try_from(end - start).ok()?;
        let taken: Vec<Entry> = self.entries.drain(..count).map(|(e, _)| e).collect();
        self.bytes = self.entries.iter().map(|(_, size)| size).sum();
        Some(taken)
    }

    /// Copies the entries `start..end` if every one of them is here (a replication read,
    /// which leaves them for the core). `None`: read the range from disk.
    pub fn copy(&self, start: u64, end: u64) -> Option<Vec<Entry>> {
        let first = self.first_index()?;
        let from = usize::try_from(start.checked_sub(first)?).ok()?;
        let to = usize::try_from(end.checked_sub(first)?).ok()?;
        if from >= to || to > self.entries.len() {
            return None;
        }
        Some(
            self.entries
                .range(from..to)
                .map(|(e, _)| e.clone())
                .collect(),
        )
    }

    /// Drops the entries from `index` on (the log was truncated there).
    pub fn truncate_from(&mut self, index: u64) {
        while self.last_index().is_some_and(|last| last >= index) {
            if let Some((_, size)) = self.entries.pop_back() {
                self.bytes -= size;
            }
        }
    }

    /// Drops the entries up to `index` included (the log was purged there).
    pub fn purge_upto(&mut self, index: u64) {
        while self.first_index().is_some_and(|first| first <= index) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, size)) = self.entries.pop_front() {
            self.bytes -= size;
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LogId};

    use super::*;

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn kept(indexes: std::ops::RangeInclusive<u64>) -> AppendedEntries {
        let mut kept = AppendedEntries::default();
        for i in indexes {
            kept.push(entry(i), 10);
        }
        kept
    }

    fn indexes(entries: Option<Vec<Entry>>) -> Option<Vec<u64>> {
        entries.map(|e| e.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn a_read_takes_a_whole_range_once() {
        let mut kept = kept(1..=5);
        assert_eq!(indexes(kept.take(1, 3)), Some(vec![1, 2]));
        assert_eq!(kept.take(1, 3), None, "taken: a second read goes to disk");
        assert_eq!(indexes(kept.take(3, 6)), Some(vec![3, 4, 5]));
        assert_eq!(kept.bytes, 0);
    }

    #[test]
    fn a_copy_leaves_the_entries_for_the_take() {
        let mut kept = kept(3..=5);
        assert_eq!(indexes(kept.copy(4, 6)), Some(vec![4, 5]));
        assert_eq!(kept.copy(2, 4), None, "2 is not here");
        assert_eq!(kept.copy(5, 7), None, "6 is not here");
        assert_eq!(kept.copy(4, 4), None, "empty range");
        assert_eq!(indexes(kept.take(3, 6)), Some(vec![3, 4, 5]));
        assert_eq!(kept.copy(3, 4), None, "taken");
    }

    #[test]
    fn a_range_not_wholly_here_goes_to_disk() {
        let mut kept = kept(3..=5);
        assert_eq!(kept.take(2, 4), None, "2 is not here");
        assert_eq!(kept.take(3, 7), None, "6 is not here");
        assert_eq!(kept.take(4, 4), None, "empty range");
        // Entries before a read's start are dropped: they were applied already.
        assert_eq!(indexes(kept.take(4, 6)), Some(vec![4, 5]));
    }

    #[test]
    fn truncate_purge_and_gaps_drop_what_disk_no_longer_matches() {
        let mut kept = kept(1..=6);
        kept.truncate_from(5);
        assert_eq!(kept.take(4, 6), None, "5 was truncated");
        let mut kept = self::kept(1..=6);
        kept.purge_upto(2);
        assert_eq!(kept.take(1, 3), None, "1 and 2 were purged");
        assert_eq!(indexes(kept.take(3, 5)), Some(vec![3, 4]));
        let mut kept = self::kept(1..=3);
        kept.push(entry(7), 10);
        assert_eq!(kept.take(1, 2), None, "a gap starts over");
        assert_eq!(indexes(kept.take(7, 8)), Some(vec![7]));
    }

    #[test]
    fn the_oldest_entries_go_past_the_byte_bound() {
        let mut kept = AppendedEntries::default();
        kept.push(entry(1), MAX_BYTES / 2);
        kept.push(entry(2), MAX_BYTES / 2);
        kept.push(entry(3), 1);
        assert_eq!(kept.take(1, 2), None, "1 was dropped for the bound");
        assert_eq!(indexes(kept.take(2, 4)), Some(vec![2, 3]));
        kept.push(entry(4), MAX_BYTES + 1);
        assert_eq!(kept.take(4, 5), None, "too big to keep");
    }
}
