//! Cutting a queue's samples into batches: a pure state machine, fed chunks and time.
//!
//! The reader hands each queue one [`Chunk`] per WAL sample record that holds samples of that
//! queue's series. A batch is a run of *whole* chunks, contiguous in the queue's WAL order, so
//! its identity is the WAL positions of its first and last chunk and successive batches of a
//! queue cover disjoint, increasing ranges. A batch is cut when it reaches
//! `max_samples_per_send` (a chunk that would overflow it starts the next batch; one chunk
//! larger than the limit is sent on its own, never split, since a split would make two
//! batches with one identity), or when its oldest chunk has waited `batch_send_deadline`.
//!
//! **Deterministic rebuild.** The deadline makes boundaries depend on timing, so a batch rebuilt
//! after a restart could differ from the one in flight before it. The queue therefore persists
//! the in-flight batch's last position before sending it (see `cursor.rs`), and on restart the
//! builder is put in *resume* mode: its first batch is exactly the chunks up to that position,
//! cut as soon as the reader has passed it, whatever its size or age. The rebuilt batch then has
//! the identity of the one that was in flight. It can differ only if the WAL budget deleted some
//! of its records meanwhile (its `first` moves up; those samples are lost anyway and counted by
//! the WAL), or if the queue count changed (cursors are then reset, see `cursor.rs`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::encode::QueuedSample;
use crate::wal::WalPos;

/// The samples of one WAL record that belong to one queue.
#[derive(Debug)]
pub struct Chunk {
    pub pos: WalPos,
    pub samples: Vec<QueuedSample>,
    /// Queue capacity this chunk holds; returned when its batch is done.
    pub permits: u32,
}

/// A batch ready to send: whole chunks, in WAL order.
#[derive(Debug)]
pub struct Batch {
    pub chunks: Vec<Chunk>,
}

impl Batch {
    pub fn first(&self) -> WalPos {
        self.chunks.first().map_or(WalPos::ZERO, |c| c.pos)
    }

    pub fn last(&self) -> WalPos {
        self.chunks.last().map_or(WalPos::ZERO, |c| c.pos)
    }

    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.samples.len()).sum()
    }

    pub fn permits(&self) -> u32 {
        self.chunks.iter().map(|c| c.permits).sum()
    }

    pub fn samples(&self) -> impl Iterator<Item = &QueuedSample> {
        self.chunks.iter().flat_map(|c| c.samples.iter())
    }
}

/// What the queue should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A batch can be taken now.
    Ready,
    /// Nothing to send before this instant unless more chunks arrive.
    WaitUntil(Instant),
    /// Nothing to send until more chunks arrive or the frontier moves.
    NeedInput,
}

/// Batches one queue's chunks.
#[derive(Debug)]
pub struct BatchBuilder {
    max_samples: usize,
    deadline: Duration,
    /// Buffered chunks with their arrival time.
    pending: VecDeque<(Instant, Chunk)>,
    pending_samples: usize,
    /// In resume mode, the last position of the batch that was in flight before a restart.
    resume_last: Option<WalPos>,
    /// Every chunk below this position has been pushed.
    frontier: WalPos,
}

impl BatchBuilder {
    /// A builder whose queue has acknowledged everything below `acked`; `in_flight` is the
    /// last position of a batch sent but not acknowledged before a restart.
    pub fn new(
        max_samples: usize,
        deadline: Duration,
        acked: WalPos,
        in_flight: Option<WalPos>,
    ) -> Self {
        Self {
            max_samples: max_samples.max(1),
            deadline,
            pending: VecDeque::new(),
            pending_samples: 0,
            resume_last: in_flight,
            frontier: acked,
        }
    }

    pub fn push(&mut self, chunk: Chunk, now: Instant) {
        self.frontier = self.frontier.max(chunk.pos);
        self.pending_samples += chunk.samples.len();
        self.pending.push_back((now, chunk));
    }

    /// Records that the reader has passed `pos`: every chunk below it has been pushed.
    pub fn advance_frontier(&mut self, pos: WalPos) {
        self.frontier = self.frontier.max(pos);
    }

    pub fn readiness(&self, now: Instant) -> Readiness {
        let Some((arrived, first)) = self.pending.front() else {
            return Readiness::NeedInput;
        };
        if let Some(last) = self.resume_last {
            // The rebuilt batch is complete once the reader is past its last record.
            return if first.pos > last || self.frontier > last {
                Readiness::Ready
            } else {
                Readiness::NeedInput
            };
        }
        let due = *arrived + self.deadline;
        if self.pending_samples >= self.max_samples || due <= now {
            Readiness::Ready
        } else {
            Readiness::WaitUntil(due)
        }
    }

    /// Takes the next batch (whole chunks). Empty when nothing is buffered.
    pub fn take(&mut self) -> Batch {
        let mut chunks = Vec::new();
        let mut n = 0;
        if let Some(last) = self.resume_last.take() {
            while let Some((at, c)) = self.pending.pop_front() {
                if c.pos > last {
                    self.pending.push_front((at, c));
                    break;
                }
                n += c.samples.len();
                chunks.push(c);
            }
        }
        if chunks.is_empty() {
            while let Some((at, c)) = self.pending.pop_front() {
                if !chunks.is_empty() && n + c.samples.len() > self.max_samples {
                    self.pending.push_front((at, c));
                    break;
                }
                n += c.samples.len();
                chunks.push(c);
            }
        }
        self.pending_samples -= n;
        Batch { chunks }
    }

    /// The queue's cursor when nothing is in flight: the first buffered chunk, or, with nothing
    /// buffered, the reader's frontier (all of this queue's samples below it are done).
    pub fn acked(&self) -> WalPos {
        self.pending.front().map_or(self.frontier, |(_, c)| c.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(offset: u32) -> WalPos {
        WalPos { segment: 1, offset }
    }

    fn chunk(offset: u32, n: usize) -> Chunk {
        let labels: std::sync::Arc<[u8]> = std::sync::Arc::from(&b""[..]);
        let samples = (0..n)
            .map(|i| QueuedSample {
                labels: labels.clone(),
                t: i as i64,
                v: 0.0,
            })
            .collect();
        Chunk {
            pos: pos(offset),
            samples,
            permits: n as u32,
        }
    }

    fn ranges(b: &Batch) -> (u32, u32, usize) {
        (b.first().offset, b.last().offset, b.len())
    }

    #[test]
    fn cuts_on_size_with_whole_chunks() {
        let t0 = Instant::now();
        let mut b = BatchBuilder::new(500, Duration::from_secs(5), WalPos::ZERO, None);
        assert_eq!(b.readiness(t0), Readiness::NeedInput);
        b.push(chunk(10, 250), t0);
        assert_eq!(
            b.readiness(t0),
            Readiness::WaitUntil(t0 + Duration::from_secs(5))
        );
        b.push(chunk(20, 250), t0);
        b.push(chunk(30, 300), t0);
        assert_eq!(b.readiness(t0), Readiness::Ready);
        assert_eq!(ranges(&b.take()), (10, 20, 500));
        assert_eq!(b.acked(), pos(30));
        // A chunk larger than the limit goes alone, unsplit.
        b.push(chunk(40, 900), t0);
        assert_eq!(ranges(&b.take()), (30, 30, 300));
        assert_eq!(ranges(&b.take()), (40, 40, 900));
        assert_eq!(b.readiness(t0), Readiness::NeedInput);
    }

    #[test]
    fn cuts_on_deadline_from_the_oldest_chunk() {
        let t0 = Instant::now();
        let d = Duration::from_secs(5);
        let mut b = BatchBuilder::new(500, d, WalPos::ZERO, None);
        b.push(chunk(10, 1), t0);
        b.push(chunk(20, 1), t0 + Duration::from_secs(3));
        assert_eq!(
            b.readiness(t0 + Duration::from_secs(4)),
            Readiness::WaitUntil(t0 + d)
        );
        assert_eq!(b.readiness(t0 + d), Readiness::Ready);
        assert_eq!(ranges(&b.take()), (10, 20, 2));
    }

    #[test]
    fn acked_follows_frontier_when_idle() {
        let mut b = BatchBuilder::new(500, Duration::from_secs(5), pos(5), None);
        assert_eq!(b.acked(), pos(5));
        b.advance_frontier(pos(100));
        assert_eq!(b.acked(), pos(100));
        b.push(chunk(120, 3), Instant::now());
        b.advance_frontier(pos(200));
        assert_eq!(b.acked(), pos(120));
    }

    #[test]
    fn resume_rebuilds_exactly_the_in_flight_batch() {
        // Before the restart a deadline cut [10..20] with only 2 samples; the rebuild must not
        // merge more chunks into it even though they are all available at once.
        let t0 = Instant::now();
        let mut b = BatchBuilder::new(500, Duration::from_secs(5), pos(10), Some(pos(20)));
        b.push(chunk(10, 1), t0);
        b.push(chunk(20, 1), t0);
        // Not complete until the reader is past 20, even though it is small and old.
        assert_eq!(
            b.readiness(t0 + Duration::from_secs(60)),
            Readiness::NeedInput
        );
        b.push(chunk(30, 1), t0);
        assert_eq!(b.readiness(t0), Readiness::Ready);
        assert_eq!(ranges(&b.take()), (10, 20, 2));
        // Then back to normal batching.
        assert!(matches!(b.readiness(t0), Readiness::WaitUntil(_)));

        // Completion can also come from the frontier alone.
        let mut b = BatchBuilder::new(500, Duration::from_secs(5), pos(10), Some(pos(20)));
        b.push(chunk(10, 600), t0);
        assert_eq!(b.readiness(t0), Readiness::NeedInput);
        b.advance_frontier(pos(21));
        assert_eq!(b.readiness(t0), Readiness::Ready);
        assert_eq!(ranges(&b.take()), (10, 10, 600));
    }

    #[test]
    fn resume_with_vanished_records_falls_back_to_normal_batching() {
        // The in-flight records were deleted by the WAL budget: the first chunk is past them.
        let t0 = Instant::now();
        let mut b = BatchBuilder::new(2, Duration::from_secs(5), pos(10), Some(pos(20)));
        b.push(chunk(40, 1), t0);
        b.push(chunk(50, 1), t0);
        b.push(chunk(60, 1), t0);
        assert_eq!(b.readiness(t0), Readiness::Ready);
        assert_eq!(ranges(&b.take()), (40, 50, 2));
    }
}
