//! The head: each active series' open chunk, in memory. A pure state machine: it places each
//! sample and hands back the chunks it seals; the store turns those into RocksDB writes.
//!
//! A flush persists the head *without sealing it* ([`Head::take_changes`]: the open chunks
//! changed since the last flush, and the series that left the head), so flushing often, to let
//! the Raft log be purged often, never cuts chunks short, and the head decides the same
//! whatever the flush schedule. Only series idle since an earlier partition are sealed at a
//! flush ([`Head::seal_idle`]), so that a series that stopped does not stay in memory forever.
//! The store reloads the persisted chunks with [`Head::restore`] after a restart or a
//! snapshot install.
//!
//! Placement of a sample `(t, v)` for a series whose open chunk spans `[min, max]`:
//!
//! - `t > max` (or no open chunk): appended. The open chunk is sealed first when it
//!   [`is_full`](OpenChunk::is_full) (120 samples or 2 h) or when `t` falls in another
//!   two-hour partition, since a chunk lives under one partition's key.
//! - `min <= t <= max`: an equal timestamp with the same value (bit for bit) is a duplicate,
//!   stored once; with another value it is a conflict and refused (the first write wins, as in
//!   the stored chunks). Otherwise the sample is inserted, unless the chunk is already full: then
//!   the chunk is sealed and the sample goes the out-of-order way.
//! - `t < min`: out of order ([`Placed::BeforeHead`]); the store writes it as an out-of-order
//!   chunk that the `chunks` merge folds in.
//!
//! The ordering that makes "first write wins" hold everywhere: a chunk written to RocksDB
//! never holds a sample written after a head sample of the same timestamp, because
//! out-of-order samples only go to RocksDB when they are older than the whole open chunk.
//!
//! Whether a window or retention allows the sample is decided before, by the store; the head
//! only orders.

use std::collections::{HashMap, HashSet};

use super::partition::partition_of;
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
    /// Older than the open chunk: the caller writes it as an out-of-order chunk.
    BeforeHead,
}

/// A chunk the head sealed, to be merged under `(partition, series)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SealedChunk {
    pub(crate) series: SeriesId,
    pub(crate) partition: i64,
    pub(crate) chunk: Chunk,
}

/// What a flush writes of the head: the open chunks changed since the last flush, by series
/// (in id order), and the series no longer in the head whose persisted chunk must go.
#[derive(Debug, Default)]
pub(crate) struct HeadChanges {
    pub(crate) changed: Vec<(SeriesId, i64, Chunk)>,
    pub(crate) removed: Vec<SeriesId>,
}

/// A persisted open chunk, the value of its `meta` record: `partition:i64` (big-endian), then
/// the chunk's samples sealed with the codec (the open chunk itself stays open).
pub(crate) fn encode_record(partition: i64, chunk: &Chunk) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + chunk.as_bytes().len());
    out.extend_from_slice(&partition.to_be_bytes());
    out.extend_from_slice(chunk.as_bytes());
    out
}

/// The partition and samples of a record [`encode_record`] wrote; `None` if it is not one.
pub(crate) fn decode_record(bytes: &[u8]) -> Option<(i64, Vec<Sample>)> {
    let partition = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let samples = Chunk::from_bytes(&bytes[8..]).ok()?.samples().ok()?;
    Some((partition, samples))
}

#[derive(Debug, Clone)]
struct OpenSeries {
    partition: i64,
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
    /// Places `(t, v)` for `series`; chunks sealed on the way are pushed to `sealed` in the
    /// order they must be written.
    pub(crate) fn append(
        &mut self,
        series: SeriesId,
        t: i64,
        v: f64,
        sealed: &mut Vec<SealedChunk>,
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
            if open.partition != partition || open.chunk.is_full() {
                let full = std::mem::replace(open, OpenSeries::start(partition, t, v));
                sealed.extend(full.seal(series));
                return Placed::Added;
            }
            return match open.chunk.append(t, v) {
                Ok(_) => Placed::Added,
                // The chunk is full by the format's limit, which `is_full` cuts far below.
                Err(_) => {
                    let full = std::mem::replace(open, OpenSeries::start(partition, t, v));
                    sealed.extend(full.seal(series));
                    Placed::Added
                }
            };
        }
        if t < min {
            return Placed::BeforeHead;
        }
        let samples = open.chunk.samples();
        match samples.binary_search_by_key(&t, |s| s.t) {
            Ok(i) if samples[i].v.to_bits() == v.to_bits() => Placed::Duplicate,
            Ok(i) => Placed::Conflict {
                existing: samples[i].v,
            },
            Err(_) if open.chunk.is_full() => {
                if let Some(full) = self.series.remove(&series) {
                    sealed.extend(full.seal(series));
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

    /// The open samples of `series`, oldest first.
    pub(crate) fn samples(&self, series: SeriesId) -> &[Sample] {
        self.series
            .get(&series)
            .map_or(&[], |open| open.chunk.samples())
    }

    /// The series with an open chunk.
    pub(crate) fn series_ids(&self) -> impl Iterator<Item = SeriesId> + '_ {
        self.series.keys().copied()
    }

    /// Seals and removes the open chunks of partitions before `partition` (series idle since
    /// then: an active one moved to the new partition with its first sample there), in series
    /// id order.
    pub(crate) fn seal_idle(&mut self, partition: i64) -> Vec<SealedChunk> {
        self.open_before(partition)
            .into_iter()
            .filter_map(|id| {
                let open = self.series.remove(&id)?;
                self.removed.insert(id);
                open.seal(id)
            })
            .collect()
    }

    /// Drops, unsealed, the open chunks of partitions before `partition` (retention deletes
    /// their data); returns their series, whose persisted chunks the caller deletes.
    pub(crate) fn drop_before(&mut self, partition: i64) -> Vec<SeriesId> {
        let dropped = self.open_before(partition);
        for id in &dropped {
            self.series.remove(id);
            self.removed.remove(id);
        }
        dropped
    }

    /// The series whose open chunk is in a partition before `partition`, in id order (so the
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

    /// The open chunks changed since the last call, encoded, and the series removed since;
    /// the head itself is unchanged (see the module header).
    pub(crate) fn take_changes(&mut self) -> HeadChanges {
        let mut changed: Vec<(SeriesId, i64, Chunk)> = self
            .series
            .iter_mut()
            .filter(|(_, open)| open.dirty)
            .filter_map(|(id, open)| {
                open.dirty = false;
                let chunk = open.chunk.clone().seal()?;
                Some((*id, open.partition, chunk))
            })
            .collect();
        changed.sort_unstable_by_key(|(id, _, _)| *id);
        let mut removed: Vec<SeriesId> = self
            .removed
            .drain()
            .filter(|id| !self.series.contains_key(id))
            .collect();
        removed.sort_unstable();
        HeadChanges { changed, removed }
    }

    /// Puts back a series' open chunk as a flush persisted it (not dirty: it is on disk).
    pub(crate) fn restore(&mut self, series: SeriesId, partition: i64, samples: &[Sample]) {
        let mut chunk = OpenChunk::new();
        for s in samples {
            // Persisted from an open chunk: strictly increasing and within the format.
            let _added = chunk.append(s.t, s.v);
        }
        self.series.insert(
            series,
            OpenSeries {
                partition,
                chunk,
                dirty: false,
            },
        );
    }
}

impl OpenSeries {
    fn start(partition: i64, t: i64, v: f64) -> Self {
        let mut chunk = OpenChunk::new();
        // An empty chunk takes any first sample.
        let _added = chunk.append(t, v);
        Self {
            partition,
            chunk,
            dirty: true,
        }
    }

    fn seal(self, series: SeriesId) -> Option<SealedChunk> {
        let partition = self.partition;
        self.chunk.seal().map(|chunk| SealedChunk {
            series,
            partition,
            chunk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::partition::PARTITION_MS;

    fn sealed_samples(sealed: &[SealedChunk]) -> Vec<Vec<i64>> {
        sealed
            .iter()
            .map(|s| s.chunk.samples().unwrap().iter().map(|x| x.t).collect())
            .collect()
    }

    #[test]
    fn in_order_samples_seal_every_120() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for i in 0..250 {
            assert_eq!(head.append(7, i * 15_000, 1.0, &mut sealed), Placed::Added);
        }
        assert_eq!(sealed.len(), 2);
        assert!(sealed.iter().all(|s| s.series == 7 && s.chunk.len() == 120));
        assert_eq!(head.samples(7).len(), 10);
        assert_eq!(head.samples(8).len(), 0);
    }

    #[test]
    fn a_partition_boundary_seals() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        head.append(1, PARTITION_MS - 1_000, 1.0, &mut sealed);
        head.append(1, PARTITION_MS, 2.0, &mut sealed);
        assert_eq!(sealed.len(), 1);
        assert_eq!(sealed[0].partition, 0);
        // The open chunk is in partition 1: idle only from partition 2 on.
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
        let ts: Vec<i64> = head.samples(1).iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![1_000, 2_000, 3_000, 5_000]);
        assert!(sealed.is_empty());
    }

    #[test]
    fn an_insert_into_a_full_chunk_seals_it_first() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for i in 0..120 {
            head.append(1, i * 10, 1.0, &mut sealed);
        }
        assert_eq!(head.append(1, 15, 1.0, &mut sealed), Placed::BeforeHead);
        assert_eq!(sealed_samples(&sealed)[0].len(), 120);
        assert_eq!(head.samples(1).len(), 0);
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
        assert_eq!(head.samples(4).len(), 1);
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
        let ids: Vec<_> = changes.changed.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(changes.changed[1].2.samples().unwrap(), head.samples(2));
        assert!(changes.removed.is_empty());
        // Unchanged since: nothing to write. A duplicate changes nothing either.
        assert_eq!(head.append(2, 2_000, 2.0, &mut sealed), Placed::Duplicate);
        assert!(head.take_changes().changed.is_empty());
        // Appending to series 1 makes it changed again; the head still holds every sample.
        head.append(1, 3_000, 1.0, &mut sealed);
        let changes = head.take_changes();
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(changes.changed[0].2.len(), 3);
        assert_eq!(head.samples(1).len(), 3);
        assert!(sealed.is_empty());
    }

    #[test]
    fn a_restored_head_decides_as_the_original() {
        let mut original = Head::default();
        let mut sealed = Vec::new();
        for i in 0..100 {
            original.append(7, i * 15_000, i as f64, &mut sealed);
        }
        let (id, partition, chunk) = original.take_changes().changed.remove(0);
        let (partition, samples) = decode_record(&encode_record(partition, &chunk)).unwrap();
        assert!(decode_record(&[1, 2, 3]).is_none());
        let mut restored = Head::default();
        restored.restore(id, partition, &samples);
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
            for i in 100..125 {
                head.append(7, i * 15_000, i as f64, &mut sealed);
            }
        }
        assert_eq!(sealed.len(), 2);
        assert_eq!(sealed[0], sealed[1]);
        assert_eq!(original.samples(7), restored.samples(7));
    }

    #[test]
    fn retention_drops_open_chunks_of_deleted_partitions() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        head.append(1, 100, 1.0, &mut sealed);
        head.append(2, PARTITION_MS, 1.0, &mut sealed);
        assert_eq!(head.drop_before(PARTITION_MS), vec![1]);
        assert!(head.samples(1).is_empty());
        assert_eq!(head.samples(2).len(), 1);
    }
}
