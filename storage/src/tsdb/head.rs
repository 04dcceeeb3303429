//! The head: each active series' open chunk, in memory. A pure state machine: it places each
//! sample and hands back the chunks it seals; the store turns those into RocksDB writes.
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

use std::collections::HashMap;

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

#[derive(Debug, Clone)]
struct OpenSeries {
    partition: i64,
    chunk: OpenChunk,
}

#[derive(Debug, Default)]
pub(crate) struct Head {
    series: HashMap<SeriesId, OpenSeries>,
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

    /// Seals every open chunk, in series id order (so the writes are deterministic), and
    /// empties the head.
    pub(crate) fn seal_all(&mut self) -> Vec<SealedChunk> {
        let mut all: Vec<_> = self.series.drain().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all.into_iter()
            .filter_map(|(id, open)| open.seal(id))
            .collect()
    }
}

impl OpenSeries {
    fn start(partition: i64, t: i64, v: f64) -> Self {
        let mut chunk = OpenChunk::new();
        // An empty chunk takes any first sample.
        let _added = chunk.append(t, v);
        Self { partition, chunk }
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
        assert_eq!(head.seal_all()[0].partition, PARTITION_MS);
        assert!(head.seal_all().is_empty());
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
    fn seal_all_is_in_series_order() {
        let mut head = Head::default();
        let mut sealed = Vec::new();
        for id in [9, 3, 5, 1] {
            head.append(id, 100, 1.0, &mut sealed);
        }
        let ids: Vec<_> = head.seal_all().iter().map(|s| s.series).collect();
        assert_eq!(ids, vec![1, 3, 5, 9]);
    }
}
