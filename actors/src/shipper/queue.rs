//! One send queue: buffers its chunks, cuts batches, sends each until the policy is done with
//! it, and moves its cursor. The logic lives in `batch.rs` and `retry.rs`; this task only runs
//! their decisions against the clock, the channel and the network.
//!
//! At most one batch is in flight, so the samples of a series (pinned to this queue) reach the
//! receiver in WAL order, and the queue's cursor is one position. Its sequence per batch:
//!
//! 1. persist `{acked: batch.first, in_flight: batch.last}` (durable), so a restart rebuilds and
//!    resends this very batch under the same identity;
//! 2. send, and resend as the retry policy says (same body, same identity) until delivered or
//!    dropped;
//! 3. return the batch's queue capacity to the reader, and note `{acked: next unacked,
//!    in_flight: none}` lazily (see `keeper.rs`): a busy queue's next step 1 writes it, an idle
//!    one's within a second. A crash before then resends this batch under its identity.
//!
//! So a batch costs one cursor write, shared with the other queues cutting batches at the same
//! time. While idle the cursor follows the reader's frontier and is noted lazily too.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use skyview_api::remote_write::BatchId;
use tokio::sync::{mpsc, watch, Semaphore};

use super::batch::{Batch, BatchBuilder, Chunk, Readiness};
use super::client::RemoteClient;
use super::cursor::QueueCursor;
use super::drop_cause::DropCause;
use super::encode::RequestEncoder;
use super::endpoint_metrics::EndpointMetrics;
use super::keeper::KeeperHandle;
use super::retry::{RetryPolicy, Verdict};
use crate::wal::WalPos;

/// Log every retry up to this attempt, then only every this many attempts, so an outage of
/// minutes does not flood the log.
const RETRY_LOG_EVERY: u32 = 16;

/// The task of one queue.
#[derive(Debug)]
pub struct QueueTask {
    pub index: u32,
    pub agent_id: String,
    pub builder: BatchBuilder,
    pub rx: mpsc::UnboundedReceiver<Chunk>,
    pub frontier: watch::Receiver<WalPos>,
    pub permits: Arc<Semaphore>,
    pub client: RemoteClient,
    pub policy: RetryPolicy,
    pub keeper: KeeperHandle,
    pub metrics: Arc<EndpointMetrics>,
    pub encoder: RequestEncoder,
    /// The cursor last handed to the keeper.
    pub noted: QueueCursor,
}

impl QueueTask {
    pub async fn run(mut self) {
        let mut input_open = true;
        loop {
            input_open &= self.drain();
            match self.builder.readiness(Instant::now()) {
                Readiness::Ready => {
                    self.ship().await;
                    continue;
                }
                Readiness::WaitUntil(at) => {
                    self.note_settled_cursor();
                    tokio::select! {
                        chunk = self.rx.recv(), if input_open => self.accept(chunk, &mut input_open),
                        changed = self.frontier.changed(), if input_open => {
                            input_open &= changed.is_ok();
                        }
                        _ = tokio::time::sleep_until(at.into()) => {}
                    }
                }
                Readiness::NeedInput if !input_open => return,
                Readiness::NeedInput => {
                    self.note_settled_cursor();
                    tokio::select! {
                        chunk = self.rx.recv() => self.accept(chunk, &mut input_open),
                        changed = self.frontier.changed() => input_open &= changed.is_ok(),
                    }
                }
            }
        }
    }

    fn accept(&mut self, chunk: Option<Chunk>, input_open: &mut bool) {
        match chunk {
            Some(c) => self.builder.push(c, Instant::now()),
            None => *input_open = false,
        }
    }

    /// Moves everything the reader has handed over into the builder. The frontier is read
    /// first: every chunk below it was sent before it was published, so it is in the channel.
    /// Returns false once the reader is gone.
    fn drain(&mut self) -> bool {
        let frontier = *self.frontier.borrow_and_update();
        let now = Instant::now();
        loop {
            match self.rx.try_recv() {
                Ok(chunk) => self.builder.push(chunk, now),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
        self.builder.advance_frontier(frontier);
        true
    }

    /// Notes, lazily, the cursor with nothing in flight: after an ack, and while idle.
    fn note_settled_cursor(&mut self) {
        let cursor = QueueCursor {
            acked: self.builder.acked(),
            in_flight: None,
        };
        if cursor != self.noted {
            self.noted = cursor;
            self.keeper.note(self.index, cursor);
        }
    }

    async fn persist(&mut self, cursor: QueueCursor) {
        self.noted = cursor;
        self.keeper.persist(self.index, cursor).await;
    }

    async fn ship(&mut self) {
        let batch = self.builder.take();
        if batch.chunks.is_empty() {
            return;
        }
        let (first, last) = (batch.first(), batch.last());
        self.persist(QueueCursor {
            acked: first,
            in_flight: Some(last),
        })
        .await;
        self.deliver(&batch).await;

        let permits = batch.permits();
        self.metrics.pending_samples.dec_by(batch.len() as i64);
        drop(batch);
        self.permits.add_permits(permits as usize);

        self.drain();
        self.note_settled_cursor();
    }

    /// Sends `batch` until the retry policy delivers or drops it.
    async fn deliver(&mut self, batch: &Batch) {
        let samples = batch.len() as u64;
        let id = BatchId {
            agent_id: self.agent_id.clone(),
            queue: self.index,
            first: batch.first().as_u64(),
            last: batch.last().as_u64(),
        };
        let body = match self.encoder.encode(batch.samples()) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(batch = %id, samples, %error, "cannot encode batch; dropped");
                self.metrics.dropped(DropCause::Encode, samples);
                return;
            }
        };
        let mut state = self.policy.start();
        loop {
            let exchange = self.client.send(body.clone(), &id).await;
            self.metrics
                .request_duration
                .observe(exchange.elapsed.as_secs_f64());
            let verdict = state.on_answer(exchange.answer, SystemTime::now(), rand::random());
            if verdict != Verdict::Delivered {
                self.metrics.failed_requests.inc();
            }
            match verdict {
                Verdict::Delivered => {
                    self.metrics.sent_samples.inc_by(samples);
                    self.metrics.sent_batches.inc();
                    self.metrics.sent_bytes.inc_by(body.len() as u64);
                    self.metrics
                        .acked(batch.samples().map(|s| s.t).max().unwrap_or(0));
                    tracing::trace!(batch = %id, samples, "batch delivered");
                    return;
                }
                Verdict::Drop(cause) => {
                    self.metrics.dropped(cause, samples);
                    tracing::warn!(
                        batch = %id,
                        samples,
                        answer = ?exchange.answer,
                        body = %exchange.detail,
                        "receiver rejected batch; dropped"
                    );
                    return;
                }
                Verdict::Retry { after } => {
                    self.metrics.retried_batches.inc();
                    let attempts = state.attempts();
                    if attempts < RETRY_LOG_EVERY || attempts.is_multiple_of(RETRY_LOG_EVERY) {
                        tracing::warn!(
                            batch = %id,
                            attempts,
                            answer = ?exchange.answer,
                            detail = %exchange.detail,
                            retry_in_ms = after.as_millis() as u64,
                            "remote write failed; retrying"
                        );
                    }
                    tokio::time::sleep(after).await;
                }
            }
        }
    }
}
