//! Group commit: concurrent writes bound for one shard share Raft entries.
//!
//! Every node runs one committer per shard (hosted or not). Requests queue their part for the
//! shard; while fewer than [`MAX_IN_FLIGHT`] entries are being proposed, the committer cuts
//! everything queued (up to [`MAX_ENTRY_SAMPLES`]) into one [`ShardWrite`] and proposes it. When
//! the shard is busy, requests pile up and the next entry carries all of them, so one quorum
//! round trip and one fsync serve many requests, and entries grow exactly when load does.
//!
//! The queue is bounded: a full queue is refused at once ([`WriteError::Unavailable`], a 503
//! the sender retries with backoff), never a hang.
//!
//! [`EntryCutter`] is the pure part (what goes in the next entry); [`GroupCommitter`] is the
//! thin actor around it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::command::ShardWrite;
use crate::node::error::WriteError;
use crate::write_batch::{WriteBatch, WriteOutcome};

/// At most this many samples in one entry (a single bigger request still goes alone).
pub const MAX_ENTRY_SAMPLES: usize = 100_000;
/// At most this many requests' parts in one entry.
pub const MAX_ENTRY_BATCHES: usize = 1_024;
/// Entries of one shard being proposed at once from one node: enough to keep the leader's log
/// writer and the followers' pipelines busy while the next entry fills.
pub const MAX_IN_FLIGHT: usize = 4;
/// Requests' parts waiting per shard before new ones are refused.
pub const QUEUE_CAPACITY: usize = 8_192;

/// The reply to one queued write.
type Reply = oneshot::Sender<Result<WriteOutcome, WriteError>>;

/// One request's part waiting for an entry.
#[derive(Debug)]
pub struct Queued {
    batch: WriteBatch,
    deadline: Instant,
    reply: Reply,
}

/// An entry ready to propose, with whom to answer.
#[derive(Debug)]
pub struct CutEntry {
    /// The entry's payload.
    pub write: ShardWrite,
    /// When the oldest request in it gives up (its outcome is then unknown).
    pub deadline: Instant,
    /// The requesters, in the order of `write.batches`.
    pub replies: Replies,
}

/// The requesters waiting on one entry.
#[derive(Debug)]
pub struct Replies(Vec<Reply>);

impl Replies {
    /// Answer every request of the entry: outcome `i` goes to batch `i`.
    pub fn resolve(self, result: Result<Vec<WriteOutcome>, WriteError>) {
        match result {
            Ok(outcomes) if outcomes.len() == self.0.len() => {
                for (reply, outcome) in self.0.into_iter().zip(outcomes) {
                    // The requester may have gone away (client disconnected): nothing to do.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(outcomes) => {
                let error = WriteError::Fatal(format!(
                    "shard state machine answered {} outcomes for {} batches",
                    outcomes.len(),
                    self.0.len()
                ));
                self.fail(&error);
            }
            Err(error) => self.fail(&error),
        }
    }

    fn fail(self, error: &WriteError) {
        for reply in self.0 {
            let _ = reply.send(Err(error.clone()));
        }
    }
}

fn samples_in(batch: &WriteBatch) -> usize {
    batch.series.iter().map(|s| s.samples.len()).sum()
}

/// The queue of one shard's waiting writes and the rule cutting it into entries.
#[derive(Debug, Default)]
pub struct EntryCutter {
    queue: VecDeque<(Queued, usize)>,
}

impl EntryCutter {
    /// Queue one request's part.
    pub fn push(&mut self, queued: Queued) {
        let samples = samples_in(&queued.batch);
        self.queue.push_back((queued, samples));
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next entry: queued parts in arrival order while they fit in [`MAX_ENTRY_SAMPLES`]
    /// and [`MAX_ENTRY_BATCHES`]; the first part always goes, however big.
    pub fn cut(&mut self) -> Option<CutEntry> {
        let (first, mut samples) = self.queue.pop_front()?;
        let mut deadline = first.deadline;
        let mut batches = vec![first.batch];
        let mut replies = vec![first.reply];
        while let Some((_, next)) = self.queue.front() {
            if batches.len() >= MAX_ENTRY_BATCHES || samples + next > MAX_ENTRY_SAMPLES {
                break;
            }
            let Some((queued, next)) = self.queue.pop_front() else {
                break;
            };
            samples += next;
            deadline = deadline.min(queued.deadline);
            batches.push(queued.batch);
            replies.push(queued.reply);
        }
        Some(CutEntry {
            write: ShardWrite { batches },
            deadline,
            replies: Replies(replies),
        })
    }
}

/// Proposes a cut entry and reports the per-batch outcomes: the node's routing (local leader or
/// forwarded), implemented by [`Node`](crate::node::Node).
pub trait ProposeEntry: Send + Sync + 'static {
    /// Propose `write` to `shard`'s leader; `Err(Timeout)` once `deadline` passes.
    fn propose(
        self: Arc<Self>,
        shard: u32,
        write: ShardWrite,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<WriteOutcome>, WriteError>> + Send>>;
}

/// The handle of one shard's committer task.
#[derive(Debug)]
pub struct GroupCommitter {
    shard: u32,
    tx: mpsc::Sender<Queued>,
}

impl GroupCommitter {
    /// Start the committer of `shard`. `proposer` is weak so the committer does not keep the
    /// node alive; the task ends when the handle is dropped and the queue has drained.
    pub fn spawn<P: ProposeEntry>(
        shard: u32,
        proposer: std::sync::Weak<P>,
    ) -> (GroupCommitter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let task = tokio::spawn(run(shard, rx, proposer));
        (GroupCommitter { shard, tx }, task)
    }

    /// Queue `batch` and wait for the outcome of the entry that carries it.
    pub async fn submit(
        &self,
        batch: WriteBatch,
        deadline: Instant,
    ) -> Result<WriteOutcome, WriteError> {
        let (reply, outcome) = oneshot::channel();
        let queued = Queued {
            batch,
            deadline,
            reply,
        };
        self.tx.try_send(queued).map_err(|e| {
            let reason = match e {
                mpsc::error::TrySendError::Full(_) => "write queue full",
                mpsc::error::TrySendError::Closed(_) => "node is shutting down",
            };
            WriteError::Unavailable {
                shard: self.shard,
                reason: reason.into(),
            }
        })?;
        // A dropped reply means the committer stopped with the entry possibly proposed.
        outcome
            .await
            .unwrap_or(Err(WriteError::Timeout { shard: self.shard }))
    }
}

async fn run<P: ProposeEntry>(
    shard: u32,
    mut rx: mpsc::Receiver<Queued>,
    proposer: std::sync::Weak<P>,
) {
    let mut cutter = EntryCutter::default();
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            received = rx.recv(), if open => match received {
                Some(queued) => {
                    cutter.push(queued);
                    while let Ok(more) = rx.try_recv() {
                        cutter.push(more);
                    }
                }
                None => open = false,
            },
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
        while in_flight.len() < MAX_IN_FLIGHT {
            let Some(entry) = cutter.cut() else { break };
            let Some(proposer) = proposer.upgrade() else {
                entry.replies.resolve(Err(WriteError::Unavailable {
                    shard,
                    reason: "node is shutting down".into(),
                }));
                continue;
            };
            let CutEntry {
                write,
                deadline,
                replies,
            } = entry;
            let proposal = proposer.propose(shard, write, deadline);
            in_flight.push(async move { replies.resolve(proposal.await) });
        }
        if !open && cutter.is_empty() && in_flight.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::write_batch::{Sample, SeriesSamples};

    fn batch(samples: usize) -> WriteBatch {
        WriteBatch {
            tenant: "t".into(),
            identity: None,
            series: vec![SeriesSamples {
                labels: vec![("__name__".into(), "x".into())],
                samples: (0..samples)
                    .map(|i| Sample {
                        timestamp_ms: i as i64,
                        value: 1.0,
                    })
                    .collect(),
            }],
        }
    }

    fn queued(
        samples: usize,
        deadline: Instant,
    ) -> (Queued, oneshot::Receiver<Result<WriteOutcome, WriteError>>) {
        let (reply, rx) = oneshot::channel();
        (
            Queued {
                batch: batch(samples),
                deadline,
                reply,
            },
            rx,
        )
    }

    #[tokio::test]
    async fn cuts_at_the_sample_limit_but_always_takes_the_first() {
        let now = Instant::now();
        let mut cutter = EntryCutter::default();
        let mut receivers = Vec::new();
        for samples in [MAX_ENTRY_SAMPLES + 5, 60_000, 40_000, 1] {
            let (q, rx) = queued(samples, now);
            cutter.push(q);
            receivers.push(rx);
        }
        let sizes: Vec<usize> = std::iter::from_fn(|| cutter.cut())
            .map(|e| e.write.batches.len())
            .collect();
        assert_eq!(sizes, [1, 2, 1]);
        assert!(cutter.is_empty());
    }

    #[tokio::test]
    async fn an_entry_keeps_the_earliest_deadline_and_answers_in_order() {
        let now = Instant::now();
        let mut cutter = EntryCutter::default();
        let (a, rx_a) = queued(1, now + Duration::from_secs(5));
        let (b, rx_b) = queued(2, now + Duration::from_secs(1));
        cutter.push(a);
        cutter.push(b);
        let entry = cutter.cut().unwrap();
        assert_eq!(entry.deadline, now + Duration::from_secs(1));
        let outcome = |n| WriteOutcome {
            samples_applied: n,
            ..WriteOutcome::default()
        };
        entry.replies.resolve(Ok(vec![outcome(1), outcome(2)]));
        assert_eq!(rx_a.await.unwrap().unwrap().samples_applied, 1);
        assert_eq!(rx_b.await.unwrap().unwrap().samples_applied, 2);
    }

    #[tokio::test]
    async fn a_wrong_outcome_count_fails_every_request() {
        let mut cutter = EntryCutter::default();
        let (a, rx_a) = queued(1, Instant::now());
        let (b, rx_b) = queued(1, Instant::now());
        cutter.push(a);
        cutter.push(b);
        cutter
            .cut()
            .unwrap()
            .replies
            .resolve(Ok(vec![WriteOutcome::default()]));
        assert!(matches!(rx_a.await.unwrap(), Err(WriteError::Fatal(_))));
        assert!(matches!(rx_b.await.unwrap(), Err(WriteError::Fatal(_))));
    }

    /// Records each entry's size and accepts it.
    struct RecordingProposer {
        entries: std::sync::Mutex<Vec<usize>>,
    }

    impl ProposeEntry for RecordingProposer {
        fn propose(
            self: Arc<Self>,
            _shard: u32,
            write: ShardWrite,
            _deadline: Instant,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<WriteOutcome>, WriteError>> + Send>> {
            Box::pin(async move {
                let n = write.batches.len();
                self.entries.lock().unwrap().push(n);
                Ok(vec![WriteOutcome::default(); n])
            })
        }
    }

    #[tokio::test]
    async fn writes_queued_together_share_entries() {
        // Single-threaded runtime: all 40 submits run before the committer drains its queue.
        let proposer = Arc::new(RecordingProposer {
            entries: std::sync::Mutex::new(Vec::new()),
        });
        let (committer, task) = GroupCommitter::spawn(3, Arc::downgrade(&proposer));
        let committer = Arc::new(committer);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut writes = Vec::new();
        for _ in 0..40 {
            let committer = Arc::clone(&committer);
            writes.push(tokio::spawn(async move {
                committer.submit(batch(10), deadline).await
            }));
        }
        for write in writes {
            write.await.unwrap().unwrap();
        }
        let entries = proposer.entries.lock().unwrap().clone();
        assert_eq!(entries.iter().sum::<usize>(), 40);
        assert!(entries.len() < 40, "no group commit: {entries:?}");
        drop(committer);
        task.await.unwrap();
    }
}
