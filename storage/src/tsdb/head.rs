//! The head: each active series' samples of its newest partition, in memory. A pure state
//! machine: it places each sample and hands back what leaves it; the store turns that into
//! RocksDB writes.
//!
//! A series' head is its *open chunk* (decoded, so samples can be inserted) and the *full
//! chunks* before it in the same two-hour partition, sealed with the codec (about 1.3 bytes a
//! sample). The head writes a partition to the `chunks` column family once, when the series
//! leaves it: every sample it held there folded into one canonical list
//! ([`SealedPartition`]). So a partition's key normally holds a single merge operand, which the
//! `chunks` merge passes through unchanged ([`chunk_list::merge`]), and reads of recent data
//! decode chunks from memory instead of having RocksDB merge 120-sample operands on every read,
//! as Prometheus reads its head.
//!
//! A flush persists the head *without sealing it* ([`Head::take_changes`]: the full chunks and
//! the open chunk of each series changed since the last flush, and the series that left the
//! head), so flushing often, to let the Raft log be purged often, never cuts chunks short, and
//! the head decides the same whatever the flush schedule. Only series idle since an earlier
//! partition leave the head at a flush ([`Head::seal_idle`]), so that a series that stopped
//! does not stay in memory forever. The store reloads the persisted head with
//! [`Head::restore`] after a restart or a snapshot install.
//!
//! Placement of a sample `(t, v)` for a series whose open chunk spans `[min, max]`:
//!
//! - `t > max` (or no open chunk): appended. When `t` falls in another partition, the series'
//!   samples of the old one are folded and handed back first. When the open chunk
//!   [`is_full`](OpenChunk::is_full) (120 samples or 2 h), it is sealed into the full chunks and
//!   a new one started.
//! - `min <= t <= max`: an equal timestamp with the same value (bit for bit) is a duplicate,
//!   stored once; with another value it is a conflict and refused (the first write wins, as in
//!   the stored chunks). Otherwise the sample is inserted, unless the chunk is already full:
//!   then the series' samples are folded and handed back, and the sample goes the
//!   out-of-order way.
//! - `t < min`: a timestamp a full chunk holds is a duplicate or a conflict, as above;
//!   otherwise the sample is out of order ([`Placed::BeforeHead`]), and the store writes it as
//!   an out-of-order chunk that the `chunks` merge folds in.
//!
//! The ordering that makes "first write wins" hold everywhere: a chunk written to RocksDB
//! never holds a sample written after a head sample of the same timestamp, because
//! out-of-order samples only go to RocksDB when no head sample has their timestamp.
//!
//! Whether a window or retention allows the sample is decided before, by the store; the head
//! only orders.

use std::collections::{HashMap, HashSet};

use super::chunk_list;
use super::partition::partition_of;
use super::varint;
use super::SeriesId;
use crate::chunk::{Appended, Chunk, OpenChunk, Sample};

/// Where [`Head::append`] put a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Placed {
    Added,
    Duplicate,
    Conflict {
        existing: f64,
    },
    /// Older than the head holds, at a timestamp it does not hold: the caller writes it as an
    /// out-of-order chunk.
    BeforeHead,
}

/// Every sample the head held for `series` in `partition`, once the series left that
/// partition: a canonical chunk list, merged under `(partition, series)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SealedPartition {
    pub(crate) series: SeriesId,
    pub(crate) partition: i64,
    pub(crate) list: Vec<u8>,
}

/// What a flush writes of the head: the [records](encode_record) of the series changed since
/// the last flush (in id order), and the series no longer in the head whose record must go.
#[derive(Debug, Default)]
pub(crate) struct HeadChanges {
    pub(crate) changed: Vec<(SeriesId, Vec<u8>)>,
    pub(crate) removed: Vec<SeriesId>,
}

/// A series' persisted head, the value of its `meta` record: `partition:i64` (big-endian),
/// then a chunk list: the full chunks, oldest first, and last the open chunk's samples sealed
/// with the codec (the open chunk itself stays open).
fn encode_record(partition: i64, full: &[Chunk], open: &Chunk) -> Vec<u8> {
    let size = full.iter().chain([open]).map(|c| c.as_bytes().len() + 3);
    let mut out = Vec::with_capacity(8 + size.sum::<usize>());
    out.extend_from_slice(&partition.to_be_bytes());
    for chunk in full.iter().chain([open]) {
        chunk_list::push(&mut out, chunk);
    }
    out
}

/// A record [`encode_record`] wrote, every chunk checked by decoding it: the partition, the
/// full chunks and the open chunk's samples. `None` if it is not one.
pub(crate) fn decode_record(bytes: &[u8]) -> Option<(i64, Vec<Chunk>, Vec<Sample>)> {
    let partition = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let mut list = &bytes[8..];
    let mut chunks = Vec::new();
    // Each chunk's samples, kept only for the last: the open chunk's.
    let mut open = Vec::new();
    while !list.is_empty() {
        let chunk = Chunk::from_bytes(varint::take_bytes(&mut list)?).ok()?;
        open = chunk.samples().ok()?;
        chunks.push(chunk);
    }
    chunks.pop()?;
    Some((partition, chunks, open))
}

#[derive(Debug, Clone)]
struct OpenSeries {
    partition: i64,
    /// Sealed chunks of `partition` before `chunk`, oldest first.
    full: Vec<Chunk>,
    chunk: OpenChunk,
    /// Changed since the last [`Head::take_changes`].
    dirty: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Head {
    series: HashMap<SeriesId, OpenSeries>,
    /// Series taken out of the head since the last [`Head::take_changes`].
    removed: HashSet<SeriesId>,
}

impl Head {
    /// Places `(t, v)` for `series`; partitions the series leaves on the way are pushed to
    /// `sealed` in the order they must be written.
    pub(crate) fn append(
        &mut self,
        series: SeriesId,
        t: i64,
        v: f64,
        sealed: &mut Vec<SealedPartition>,
    ) -> Placed {
        let partition = partition_of(t);
        let Some(open) = self.series.get_mut(&series) else {
            self.series
                .insert(series, OpenSeries::start(partition, t, v));
            return Placed::Added;
        };
        let (min, max) = match (open.chunk.min_t(), open.chunk.max_t()) {
            (Some(min), Some(max)) => (min, max),
            _ => {
                *open = OpenSeries::start(partition, t, v);
                return Placed::Added;
            }
        };
        if t > max {
            open.dirty = true;
            if open.partition != partition {
                let left = std::mem::replace(open, OpenSeries::start(partition, t, v));
                sealed.extend(left.seal(series));
                return Placed::Added;
            }
            if open.chunk.is_full() || open.chunk.append(t, v).is_err() {
                // `append` fails only at the format's limit, which `is_full` cuts far below.
                open.start_chunk(t, v);
            }
            return Placed::Added;
        }
        if t < min {
            return open.place_in_full(t, v);
        }
        let samples = open.chunk.samples();
        match samples.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => existing(samples[i], v),
            Err(_) if open.chunk.is_full() => {
                if let Some(left) = self.series.remove(&series) {
                    sealed.extend(left.seal(series));
                    self.removed.insert(series);
                }
                Placed::BeforeHead
            }
            Err(i) => {
                let mut rebuilt = OpenChunk::new();
                let inserted = Sample { t, v };
                for s in samples[..i]
                    .iter()
                    .chain(std::iter::once(&inserted))
                    .chain(&samples[i..])
                {
                    // Strictly increasing by construction and below the format's limit.
                    if rebuilt.append(s.t, s.v) != Ok(Appended::Added) {
                        return Placed::BeforeHead;
                    }
                }
                open.chunk = rebuilt;
                open.dirty = true;
                Placed::Added
            }
        }
    }

    /// Appends the head's samples of `series` that may lie in `[min_t, max_t]` to `out`, oldest
    /// first: every sample of the full chunks overlapping the range (the others are not
    /// decoded) and of the open chunk; the caller trims to the range.
    pub(crate) fn samples_into(
        &self,
        series: SeriesId,
        min_t: i64,
        max_t: i64,
        out: &mut Vec<Sample>,
    ) {
        let Some(open) = self.series.get(&series) else {
            return;
        };
        for chunk in &open.full {
            if chunk.max_t() >= min_t && chunk.min_t() <= max_t {
                // Checked when it was sealed or restored.
                let _decoded = chunk.decode_into(out);
            }
        }
        out.extend_from_slice(open.chunk.samples());
    }

    /// The series with samples in the head.
    pub(crate) fn series_ids(&self) -> impl Iterator<Item = SeriesId> + '_ {
        self.series.keys().copied()
    }

    /// Folds and removes the series whose head is in a partition before `partition` (series
    /// idle since then: an active one moved to the new partition with its first sample
    /// there), in series id order.
    pub(crate) fn seal_idle(&mut self, partition: i64) -> Vec<SealedPartition> {
        self.open_before(partition)
            .into_iter()
            .filter_map(|id| {
                let open = self.series.remove(&id)?;
                self.removed.insert(id);
                open.seal(id)
            })
            .collect()
    }

    /// Drops, unwritten, the series whose head is in a partition before `partition`
    /// (retention deletes their data); returns them, so the caller deletes their records.
    pub(crate) fn drop_before(&mut self, partition: i64) -> Vec<SeriesId> {
        let dropped = self.open_before(partition);
        for id in &dropped {
            self.series.remove(id);
            self.removed.remove(id);
        }
        dropped
    }

    /// The series whose head is in a partition before `partition`, in id order (so the
    /// writes made from them are deterministic).
    fn open_before(&self, partition: i64) -> Vec<SeriesId> {
        let mut ids: Vec<SeriesId> = self
            .series
            .iter()
            .filter(|(_, open)| open.partition < partition)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The records of the series changed since the last call, and the series removed since;
    /// the head itself is unchanged (see the module header).
    pub(crate) fn take_changes(&mut self) -> HeadChanges {
        let mut changed: Vec<(SeriesId, Vec<u8>)> = self
            .series
            .iter_mut()
            .filter(|(_, open)| open.dirty)
            .filter_map(|(id, open)| {
                open.dirty = false;
                let chunk = open.chunk.clone().seal()?;
                Some((*id, encode_record(open.partition, &open.full, &chunk)))
            })
            .collect();
        changed.sort_unstable_by_key(|(id, _)| *id);
        let mut removed: Vec<SeriesId> = self
            .removed
            .drain()
            .filter(|id| !self.series.contains_key(id))
            .collect();
        removed.sort_unstable();
        HeadChanges { changed, removed }
    }

    /// Puts back a series' head as a flush persisted it (not dirty: it is on disk); the
    /// arguments are what [`decode_record`] returns.
    pub(crate) fn restore(
        &mut self,
        series: SeriesId,
        partition: i64,
        full: Vec<Chunk>,
        open: &[Sample],
    ) {
        let mut chunk = OpenChunk::new();
        for s in open {
            // Persisted from an open chunk: strictly increasing and within the format.
            let _added = chunk.append(s.t, s.v);
        }
        self.series.insert(
            series,
            OpenSeries {
                partition,
                full,
                chunk,
                dirty: false,
            },
        );
    }
}

/// The outcome of a sample whose timestamp the head already holds as `held`.
fn existing(held: Sample, v: f64) -> Placed {
    if held.v.to_bits() == v.to_bits() {
        Placed::Duplicate
    } else {
        Placed::Conflict { existing: held.v }
    }
}

impl OpenSeries {
    fn start(partition: i64, t: i64, v: f64) -> Self {
        let mut chunk = OpenChunk::new();
        // An empty chunk takes any first sample.
        let _added = chunk.append(t, v);
        Self {
            partition,
            full: Vec::new(),
            chunk,
            dirty: true,
        }
    }

    /// Seals the open chunk into the full ones and opens a new one with `(t, v)`.
    fn start_chunk(&mut self, t: i64, v: f64) {
        let mut next = OpenChunk::new();
        let _added = next.append(t, v);
        let done = std::mem::replace(&mut self.chunk, next);
        self.full.extend(done.seal());
    }

    /// A sample older than the open chunk: a duplicate or conflict when a full chunk holds its
    /// timestamp, otherwise out of order.
    fn place_in_full(&self, t: i64, v: f64) -> Placed {
        let Some(chunk) = self
            .full
            .iter()
            .find(|c| (c.min_t()..=c.max_t()).contains(&t))
        else {
            return Placed::BeforeHead;
        };
        let mut samples = Vec::with_capacity(chunk.len());
        // Checked when it was sealed or restored.
        let _decoded = chunk.decode_into(&mut samples);
        match samples.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => existing(samples[i], v),
            Err(_) => Placed::BeforeHead,
        }
    }

    /// Every sample of the series in its partition, as one canonical list.
    fn seal(self, series: SeriesId) -> Option<SealedPartition> {
        let held = self.full.iter().map(Chunk::len).sum::<usize>();
        let mut samples = Vec::with_capacity(held + self.chunk.len());
        for chunk in &self.full {
            // Checked when it was sealed or restored.
            let _decoded = chunk.decode_into(&mut samples);
        }
        samples.extend_from_slice(self.chunk.samples());
        chunk_list::encode(&samples).map(|list| SealedPartition {
            series,
            partition: self.partition,
            list,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::partition::PARTITION_MS;

    fn all(head: &Head, series: SeriesId) -> Vec<Sample> {
        let mut out = Vec::new();
        head.samples_into(series, i64::MIN, i64::MAX, &mut out);
        out
    }

    /// A head holding `count` samples of `series`, `step` ms apart, valued by their index.
    fn filled(series: SeriesId, count: i64, step: i64) -> Head {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for i in 0..count {
            head.append(series, i * step, i as f64, &mut sealed);
        }
        assert!(sealed.is_empty());
        head
    }

    fn times(samples: &[Sample]) -> Vec<i64> {
        samples.iter().map(|s| s.t).collect()
    }

    fn list_samples(list: &[u8]) -> Vec<Sample> {
        let mut out = Vec::new();
        chunk_list::decode_into(list, &mut out).unwrap();
        out
    }

    #[test]
    fn a_partition_is_held_until_the_series_leaves_it() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for i in 0..250 {
            assert_eq!(head.append(7, i * 15_000, 1.0, &mut sealed), Placed::Added);
        }
        assert!(sealed.is_empty(), "full chunks stay in the head");
        let open = &head.series[&7];
        let full: Vec<usize> = open.full.iter().map(Chunk::len).collect();
        assert_eq!(full, vec![120, 120]);
        assert_eq!(open.chunk.len(), 10);
        assert_eq!(all(&head, 7).len(), 250);
        assert!(all(&head, 8).is_empty());
        // A range inside the open chunk decodes no full chunk; one reaching into the second
        // full chunk decodes that one only.
        let mut range = Vec::new();
        head.samples_into(7, 15_000 * 245, 15_000 * 246, &mut range);
        assert_eq!(range.len(), 10);
        range.clear();
        head.samples_into(7, 15_000 * 239, 15_000 * 241, &mut range);
        assert_eq!(range.len(), 130);
        assert_eq!(range[0].t, 15_000 * 120);
        // Leaving the partition writes it once, folded into one canonical chunk.
        head.append(7, PARTITION_MS, 2.0, &mut sealed);
        assert_eq!(sealed.len(), 1);
        assert_eq!((sealed[0].series, sealed[0].partition), (7, 0));
        let folded = list_samples(&sealed[0].list);
        assert_eq!(folded.len(), 250);
        assert_eq!(chunk_list::encode(&folded).unwrap(), sealed[0].list);
        assert_eq!(
            all(&head, 7),
            vec![Sample {
                t: PARTITION_MS,
                v: 2.0
            }]
        );
        // The new partition's series is idle only from the partition after it.
        assert!(head.seal_idle(PARTITION_MS).is_empty());
        assert_eq!(head.seal_idle(2 * PARTITION_MS)[0].partition, PARTITION_MS);
        assert!(head.seal_idle(2 * PARTITION_MS).is_empty());
    }

    #[test]
    fn samples_inside_the_open_chunk_are_inserted_deduplicated_or_refused() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for t in [1_000, 3_000, 5_000] {
            head.append(1, t, t as f64, &mut sealed);
        }
        assert_eq!(head.append(1, 2_000, 2.0, &mut sealed), Placed::Added);
        assert_eq!(
            head.append(1, 3_000, 3_000.0, &mut sealed),
            Placed::Duplicate
        );
        assert_eq!(
            head.append(1, 3_000, 7.0, &mut sealed),
            Placed::Conflict { existing: 3_000.0 }
        );
        assert_eq!(head.append(1, 500, 1.0, &mut sealed), Placed::BeforeHead);
        assert_eq!(times(&all(&head, 1)), vec![1_000, 2_000, 3_000, 5_000]);
        assert!(sealed.is_empty());
    }

    #[test]
    fn timestamps_in_full_chunks_are_duplicates_or_conflicts_and_gaps_are_out_of_order() {
        let mut head = filled(1, 130, 10);
        let mut sealed = Vec::new();
        assert_eq!(head.append(1, 50, 5.0, &mut sealed), Placed::Duplicate);
        assert_eq!(
            head.append(1, 50, 6.0, &mut sealed),
            Placed::Conflict { existing: 5.0 }
        );
        // Between two samples of a full chunk, and before the head: out of order, so the
        // head is unchanged and nothing leaves it.
        assert_eq!(head.append(1, 55, 1.0, &mut sealed), Placed::BeforeHead);
        assert_eq!(head.append(1, -10, 1.0, &mut sealed), Placed::BeforeHead);
        assert_eq!(all(&head, 1).len(), 130);
        assert!(sealed.is_empty());
    }

    #[test]
    fn an_insert_into_a_full_open_chunk_writes_the_partition_first() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for i in 0..240 {
            head.append(1, i * 10, 1.0, &mut sealed);
        }
        assert_eq!(head.append(1, 1_205, 1.0, &mut sealed), Placed::BeforeHead);
        assert_eq!(list_samples(&sealed[0].list).len(), 240);
        assert!(all(&head, 1).is_empty());
        assert_eq!(head.take_changes().removed, vec![1]);
    }

    #[test]
    fn idle_series_are_sealed_in_series_order() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for id in [9, 3, 5, 1] {
            head.append(id, 100, 1.0, &mut sealed);
        }
        head.append(4, PARTITION_MS, 1.0, &mut sealed);
        let ids: Vec<_> = head
            .seal_idle(PARTITION_MS)
            .iter()
            .map(|s| s.series)
            .collect();
        assert_eq!(ids, vec![1, 3, 5, 9]);
        assert_eq!(all(&head, 4).len(), 1);
        assert_eq!(head.take_changes().removed, vec![1, 3, 5, 9]);
    }

    #[test]
    fn a_flush_takes_only_what_changed_and_leaves_the_head_open() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for t in [1_000, 2_000] {
            head.append(1, t, 1.0, &mut sealed);
            head.append(2, t, 2.0, &mut sealed);
        }
        let changes = head.take_changes();
        let ids: Vec<_> = changes.changed.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2]);
        let (_, full, open) = decode_record(&changes.changed[1].1).unwrap();
        assert!(full.is_empty());
        assert_eq!(open, all(&head, 2));
        assert!(changes.removed.is_empty());
        // Unchanged since: nothing to write. A duplicate changes nothing either.
        assert_eq!(head.append(2, 2_000, 2.0, &mut sealed), Placed::Duplicate);
        assert!(head.take_changes().changed.is_empty());
        // Appending to series 1 makes it changed again; the head still holds every sample.
        head.append(1, 3_000, 1.0, &mut sealed);
        let changes = head.take_changes();
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(decode_record(&changes.changed[0].1).unwrap().2.len(), 3);
        assert_eq!(all(&head, 1).len(), 3);
        assert!(sealed.is_empty());
    }

    #[test]
    fn a_restored_head_decides_as_the_original() {
        let mut original = filled(7, 300, 15_000);
        let mut sealed = Vec::new();
        let (id, record) = original.take_changes().changed.remove(0);
        let (partition, full, open) = decode_record(&record).unwrap();
        assert_eq!((full.len(), open.len()), (2, 60));
        assert!(decode_record(&[1, 2, 3]).is_none());
        assert!(decode_record(&record[..record.len() - 1]).is_none());
        let mut restored = Head::default();
        restored.restore(id, partition, full, &open);
        assert!(
            restored.take_changes().changed.is_empty(),
            "restored as flushed"
        );
        for head in [&mut original, &mut restored] {
            assert_eq!(head.append(7, 15_000, 1.0, &mut sealed), Placed::Duplicate);
            assert_eq!(
                head.append(7, 15_000, 5.0, &mut sealed),
                Placed::Conflict { existing: 1.0 }
            );
            for i in 300..325 {
                head.append(7, i * 15_000, i as f64, &mut sealed);
            }
            head.append(7, PARTITION_MS, 0.0, &mut sealed);
        }
        assert_eq!(sealed.len(), 2);
        assert_eq!(sealed[0], sealed[1]);
        assert_eq!(list_samples(&sealed[0].list).len(), 325);
        assert_eq!(all(&original, 7), all(&restored, 7));
    }

    #[test]
    fn retention_drops_open_chunks_of_deleted_partitions() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        head.append(1, 100, 1.0, &mut sealed);
        head.append(2, PARTITION_MS, 1.0, &mut sealed);
        assert_eq!(head.drop_before(PARTITION_MS), vec![1]);
        assert!(all(&head, 1).is_empty());
        assert_eq!(all(&head, 2).len(), 1);
    }
}
