//! The reader: a dedicated thread that follows the WAL up to its durable position and deals
//! each sample record out to the queues.
//!
//! Reading and decoding the WAL is blocking file IO, so it runs on its own thread rather than
//! on the actor's event loop. For each series record it updates the endpoint's [`SeriesTable`];
//! for each sample record it groups the samples by queue and hands every queue its share as one
//! [`Chunk`] tagged with the record's position. A queue's samples in records below its own
//! cursor were acknowledged before a restart and are skipped here.
//!
//! Backpressure: a queue holds at most `capacity` samples (a semaphore of that many permits; a
//! chunk larger than the whole capacity takes all of it). When a queue is full the reader
//! waits, so during an outage it stops reading and the backlog stays in the WAL, not in memory.
//!
//! After reading everything below the durable position it publishes that position as the
//! *frontier*: every chunk of a record below it has been handed out, which lets idle queues
//! advance their cursors and lets a resumed queue know its rebuilt batch is complete.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch, Semaphore};

use super::batch::Chunk;
use super::drop_cause::DropCause;
use super::encode::QueuedSample;
use super::endpoint_metrics::EndpointMetrics;
use super::series::{SeriesEntry, SeriesTable};
use crate::sample::RefSample;
use crate::wal::{Record, WalError, WalPos, WalReader};

/// How the reader ended.
#[derive(Debug, thiserror::Error)]
pub enum ReaderExit {
    /// The shipper is stopping; unacknowledged data is re-read on the next start.
    #[error("stopped")]
    Stopped,
    #[error("reading the WAL: {0}")]
    Wal(#[from] WalError),
}

/// The reader's side of one queue.
#[derive(Debug)]
pub struct QueueInlet {
    pub tx: mpsc::UnboundedSender<Chunk>,
    pub permits: Arc<Semaphore>,
    pub capacity: u32,
    /// This queue's samples in records below this position are already acknowledged.
    pub skip_below: WalPos,
}

/// Everything the reader thread owns.
#[derive(Debug)]
pub struct ReaderTask {
    pub wal_dir: PathBuf,
    pub from: WalPos,
    pub table: SeriesTable,
    pub queues: Vec<QueueInlet>,
    pub durable: watch::Receiver<WalPos>,
    pub frontier: watch::Sender<WalPos>,
    pub stop: watch::Receiver<bool>,
    pub metrics: Arc<EndpointMetrics>,
}

impl ReaderTask {
    /// Runs until stopped (or the WAL fails); blocking.
    pub fn run(mut self) -> Result<(), ReaderExit> {
        let mut reader = WalReader::open(&self.wal_dir, self.from)?;
        let mut shares: Vec<Vec<QueuedSample>> = self.queues.iter().map(|_| Vec::new()).collect();
        loop {
            let until = *self.durable.borrow_and_update();
            while let Some((pos, record)) = reader.next(until)? {
                if let Some(skipped) = reader.take_skipped() {
                    tracing::warn!(
                        from = %skipped.from,
                        to = %skipped.to,
                        "WAL range deleted or damaged before it was shipped; its samples are lost"
                    );
                }
                match record {
                    Record::Series(series) => {
                        for (r, labels) in &series {
                            self.table.define(*r, labels);
                        }
                    }
                    Record::Samples(samples) => self.deal(pos, &samples, &mut shares)?,
                }
            }
            self.frontier.send_replace(until);
            let (durable, stop) = (&mut self.durable, &mut self.stop);
            let stopped = futures::executor::block_on(async {
                tokio::select! {
                    changed = durable.changed() => changed.is_err(),
                    _ = stop.changed() => true,
                }
            });
            if stopped {
                return Err(ReaderExit::Stopped);
            }
        }
    }

    /// Splits one sample record by queue and hands out the shares, waiting for capacity.
    fn deal(
        &mut self,
        pos: WalPos,
        samples: &[RefSample],
        shares: &mut [Vec<QueuedSample>],
    ) -> Result<(), ReaderExit> {
        let (mut relabelled, mut unknown) = (0u64, 0u64);
        for s in samples {
            match self.table.get(s.series) {
                Some(SeriesEntry::Kept { queue, labels }) => {
                    shares[*queue as usize].push(QueuedSample {
                        labels: labels.clone(),
                        t: s.t,
                        v: s.v,
                    })
                }
                Some(SeriesEntry::Dropped) => relabelled += 1,
                None => unknown += 1,
            }
        }
        self.metrics.dropped(DropCause::Relabel, relabelled);
        if unknown > 0 {
            tracing::warn!(%pos, samples = unknown, "WAL samples of undefined series; dropped");
            self.metrics.dropped(DropCause::UnknownSeries, unknown);
        }
        for (inlet, share) in self.queues.iter().zip(shares.iter_mut()) {
            if share.is_empty() {
                continue;
            }
            if pos < inlet.skip_below {
                share.clear();
                continue;
            }
            let permits = (share.len() as u32).min(inlet.capacity);
            let sem = &inlet.permits;
            let stop = &mut self.stop;
            // The common case (room in the queue) takes no executor round trip.
            let acquired = match sem.try_acquire_many(permits) {
                Ok(permit) => {
                    permit.forget();
                    true
                }
                Err(_) => futures::executor::block_on(async {
                    tokio::select! {
                        permit = sem.acquire_many(permits) => permit.ok().map(|p| p.forget()).is_some(),
                        _ = stop.changed() => false,
                    }
                }),
            };
            if !acquired {
                return Err(ReaderExit::Stopped);
            }
            self.metrics.pending_samples.inc_by(share.len() as i64);
            let chunk = Chunk {
                pos,
                samples: std::mem::take(share),
                permits,
            };
            inlet.tx.send(chunk).map_err(|_| ReaderExit::Stopped)?;
        }
        Ok(())
    }
}
