//! The cursor keeper: the one task that writes an endpoint's cursors file and tells the WAL
//! how far the endpoint has acknowledged.
//!
//! Queues send it their cursor changes. A *durable* change (before a batch is sent, to record
//! its range) is written and synced before the queue is answered; changes that arrive meanwhile
//! from other queues share that write, so eight queues cutting batches from the same WAL
//! records cost one or two writes, not eight. A *lazy* change (an acknowledgement, or an idle
//! queue following the reader's frontier) only marks the state dirty; it is written within
//! [`LAZY_FLUSH`] or with the next durable one, which on a busy queue is its next batch's.
//!
//! An acknowledgement may be lazy because losing it costs what a crash between the receiver's
//! 2xx and any write costs: the file still names the acknowledged batch as in flight, so a
//! restarted queue resends that one batch under the same identity, and nothing is lost.
//!
//! After every successful write the keeper reports the minimum persisted `acked` to the WAL, so
//! the WAL never deletes a segment that a restarted shipper would still need. If a write fails
//! the error is logged and the WAL is not told anything new: it keeps more data, never less.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::cursor::{CursorStore, QueueCursor};
use super::endpoint_metrics::EndpointMetrics;
use crate::wal::WalPos;

/// Longest time a lazy cursor change stays unwritten; also how often the lag gauge refreshes.
pub const LAZY_FLUSH: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Update {
    queue: u32,
    cursor: QueueCursor,
    durable: Option<oneshot::Sender<()>>,
}

/// The queues' handle on the keeper.
#[derive(Debug, Clone)]
pub struct KeeperHandle {
    tx: mpsc::UnboundedSender<Update>,
}

impl KeeperHandle {
    /// Records `cursor` for `queue` and returns once it is on disk (or the write failed and was
    /// logged; the queue goes on either way, since a stale file only means resending).
    pub async fn persist(&self, queue: u32, cursor: QueueCursor) {
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(Update {
                queue,
                cursor,
                durable: Some(tx),
            })
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    /// Records `cursor` for `queue` without waiting for it to be written.
    pub fn note(&self, queue: u32, cursor: QueueCursor) {
        let _ = self.tx.send(Update {
            queue,
            cursor,
            durable: None,
        });
    }
}

/// The keeper task's state.
pub struct CursorKeeper {
    path: PathBuf,
    /// Shared only with the blocking task that writes it; one write at a time.
    store: Arc<Mutex<CursorStore>>,
    cursors: Vec<QueueCursor>,
    rx: mpsc::UnboundedReceiver<Update>,
    report: Box<dyn FnMut(WalPos)>,
    reported: Option<WalPos>,
    metrics: Arc<EndpointMetrics>,
}

impl std::fmt::Debug for CursorKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorKeeper")
            .field("path", &self.path)
            .field("cursors", &self.cursors)
            .finish()
    }
}

impl CursorKeeper {
    /// A keeper starting from `cursors`; `report` tells the WAL the acknowledged floor.
    pub fn new(
        store: CursorStore,
        cursors: Vec<QueueCursor>,
        report: Box<dyn FnMut(WalPos)>,
        metrics: Arc<EndpointMetrics>,
    ) -> (Self, KeeperHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        let keeper = Self {
            path: store.path(),
            store: Arc::new(Mutex::new(store)),
            cursors,
            rx,
            report,
            reported: None,
            metrics,
        };
        (keeper, KeeperHandle { tx })
    }

    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(LAZY_FLUSH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut dirty = false;
        loop {
            let mut waiters = Vec::new();
            tokio::select! {
                update = self.rx.recv() => match update {
                    Some(u) => self.apply(u, &mut waiters, &mut dirty),
                    None => break,
                },
                _ = tick.tick() => {
                    self.metrics.refresh_lag();
                    if dirty {
                        dirty = false;
                        self.save().await;
                    }
                    continue;
                }
            }
            if !waiters.is_empty() {
                // The queues cut their batches from the same WAL records, so the others are
                // usually runnable right now: let them send their updates to share this write.
                tokio::task::yield_now().await;
            }
            while let Ok(u) = self.rx.try_recv() {
                self.apply(u, &mut waiters, &mut dirty);
            }
            if !waiters.is_empty() {
                dirty = false;
                self.save().await;
                for w in waiters {
                    let _ = w.send(());
                }
            }
        }
        if dirty {
            self.save().await;
        }
    }

    fn apply(&mut self, u: Update, waiters: &mut Vec<oneshot::Sender<()>>, dirty: &mut bool) {
        if let Some(slot) = self.cursors.get_mut(u.queue as usize) {
            *slot = u.cursor;
        }
        match u.durable {
            Some(w) => waiters.push(w),
            None => *dirty = true,
        }
    }

    async fn save(&mut self) {
        let store = self.store.clone();
        let cursors = self.cursors.clone();
        let write = move || {
            store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .save(&cursors)
        };
        match tokio::task::spawn_blocking(write).await {
            Ok(Ok(())) => {
                let floor = self
                    .cursors
                    .iter()
                    .map(|c| c.acked)
                    .min()
                    .unwrap_or(WalPos::ZERO);
                if self.reported != Some(floor) {
                    self.reported = Some(floor);
                    (self.report)(floor);
                }
            }
            Ok(Err(error)) => tracing::error!(%error, "cannot persist shipper cursors"),
            Err(error) => tracing::error!(%error, "cursor write task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::metrics::AgentMetrics;

    fn pos(offset: u32) -> WalPos {
        WalPos { segment: 1, offset }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn durable_updates_are_on_disk_before_the_reply_and_floor_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path().to_path_buf());
        let on_disk = || CursorStore::new(dir.path().to_path_buf()).load(2).unwrap();
        let reports = Rc::new(RefCell::new(Vec::new()));
        let sink = reports.clone();
        let metrics = Arc::new(EndpointMetrics::new(&AgentMetrics::new(), "r", "http://x"));
        let (keeper, handle) = CursorKeeper::new(
            store,
            vec![QueueCursor::default(); 2],
            Box::new(move |p| sink.borrow_mut().push(p)),
            metrics,
        );
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                let task = tokio::task::spawn_local(keeper.run());
                let c0 = QueueCursor {
                    acked: pos(10),
                    in_flight: Some(pos(20)),
                };
                handle.note(
                    1,
                    QueueCursor {
                        acked: pos(5),
                        in_flight: None,
                    },
                );
                handle.persist(0, c0).await;
                assert_eq!(
                    on_disk(),
                    Some(vec![
                        c0,
                        QueueCursor {
                            acked: pos(5),
                            in_flight: None
                        }
                    ])
                );
                assert_eq!(*reports.borrow(), [pos(5)]);
                handle
                    .persist(
                        1,
                        QueueCursor {
                            acked: pos(30),
                            in_flight: None,
                        },
                    )
                    .await;
                assert_eq!(*reports.borrow(), [pos(5), pos(10)]);
                drop(handle);
                task.await.unwrap();
            })
            .await;
    }
}
