//! Resuming queues from the receiver's committed positions rather than only from the local
//! cursors (prometheus/prometheus#8809).
//!
//! A queue's persisted cursor can trail what the receiver really holds: the receiver committed
//! a batch but its answer was lost (a timeout, a network cut), or the agent crashed between the
//! 2xx and the lazy cursor write (see `keeper.rs`). Restarting from the cursor alone would send
//! those batches again; they are deduplicated, but they cost a retransmission of up to a whole
//! outage's backlog when the lost answer was the last one of a long retry. So each time a
//! shipper starts (agent start, restart, config reload) it asks a Skyview receiver, once per
//! queue and all queues at once, for the queue's committed position (`committed.rs`), and
//! [`decide`]s per queue:
//!
//! - nothing committed, or a committed position below the cursor: keep the cursor;
//! - a committed position `c` at or past the cursor: every record of the queue up to `c` is on
//!   the receiver, so the queue resumes at `c + 1` (the next record starts past it). A batch
//!   that was in flight and ends at or before `c` is done; one that ends past `c` is still
//!   rebuilt up to its end, without the committed records;
//! - a committed position at or past the end of the durable WAL: the receiver's mark cannot be
//!   about this WAL (it would be claiming records that were never written), so it is ignored,
//!   loudly, rather than trusted to skip data.
//!
//! The query is an optimisation, never a condition: 404 or any answer from a receiver that is
//! not Skyview, an unreachable receiver, an error or a malformed answer all keep the local
//! cursor, and the query is bounded by `committed::QUERY_TIMEOUT`. An advanced cursor is handed
//! to the keeper like an acknowledgement: written lazily, then reported to the WAL.

use super::client::RemoteClient;
use super::committed::{fetch_committed, CommittedError, QUERY_TIMEOUT};
use super::cursor::QueueCursor;
use super::endpoint_metrics::EndpointMetrics;
use crate::wal::WalPos;

/// What to do with one queue's cursor given the receiver's committed position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Resume from this cursor instead.
    Advance(QueueCursor),
    /// The receiver has committed nothing of this queue.
    NothingCommitted,
    /// The receiver's position is below the cursor: the cursor already knows more.
    Behind { committed: u64 },
    /// The receiver claims records past the end of the durable WAL.
    PastWal { committed: u64, durable: WalPos },
}

/// The pure decision for one queue; see the module doc.
pub fn decide(local: QueueCursor, committed: Option<u64>, durable: WalPos) -> Resume {
    let Some(committed) = committed else {
        return Resume::NothingCommitted;
    };
    if committed >= durable.as_u64() {
        return Resume::PastWal { committed, durable };
    }
    if committed < local.acked.as_u64() {
        return Resume::Behind { committed };
    }
    // `committed < durable <= u64::MAX`, so the successor exists.
    Resume::Advance(QueueCursor {
        acked: WalPos::from_u64(committed + 1),
        in_flight: local.in_flight.filter(|last| last.as_u64() > committed),
    })
}

/// Asks the receiver for every queue's committed position and applies [`decide`] to
/// `cursors`. Returns the queues whose cursor advanced. Logs one line per kind of outcome, so
/// a plain Prometheus-compatible receiver costs one debug line per start, not one per queue.
pub async fn resume_from_receiver(
    client: &RemoteClient,
    agent_id: &str,
    cursors: &mut [QueueCursor],
    durable: WalPos,
    metrics: &EndpointMetrics,
) -> Vec<u32> {
    let url = client.url().clone();
    let timeout = QUERY_TIMEOUT.min(client.timeout());
    let answers = futures::future::join_all(
        (0..cursors.len() as u32).map(|queue| fetch_committed(client, agent_id, queue, timeout)),
    )
    .await;

    let mut advanced = Vec::new();
    let mut not_served = None;
    let mut failures: Vec<(u32, CommittedError)> = Vec::new();
    for ((queue, cursor), answer) in (0u32..).zip(cursors.iter_mut()).zip(answers) {
        let committed = match answer {
            Ok(committed) => committed,
            Err(CommittedError::NotServed { status }) => {
                not_served = Some(status);
                continue;
            }
            Err(error) => {
                failures.push((queue, error));
                continue;
            }
        };
        match decide(*cursor, committed, durable) {
            Resume::Advance(next) => {
                tracing::info!(
                    %url,
                    queue,
                    from = %cursor.acked,
                    to = %next.acked,
                    "resuming after the receiver's committed position"
                );
                *cursor = next;
                metrics.committed_resumes.inc();
                advanced.push(queue);
            }
            Resume::NothingCommitted | Resume::Behind { .. } => {}
            Resume::PastWal { committed, durable } => tracing::warn!(
                %url,
                queue,
                committed = %WalPos::from_u64(committed),
                %durable,
                "the receiver's committed position is past this agent's WAL; ignored"
            ),
        }
    }
    if let Some(status) = not_served {
        tracing::debug!(
            %url,
            status,
            "the receiver does not serve committed positions; resuming from local cursors"
        );
    }
    if let Some((queue, error)) = failures.first() {
        tracing::warn!(
            %url,
            queues = failures.len(),
            first_queue = queue,
            %error,
            "cannot ask the receiver for committed positions; resuming from local cursors"
        );
    }
    advanced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u32, offset: u32) -> WalPos {
        WalPos { segment, offset }
    }

    fn cursor(acked: WalPos, in_flight: Option<WalPos>) -> QueueCursor {
        QueueCursor { acked, in_flight }
    }

    const DURABLE: WalPos = WalPos {
        segment: 7,
        offset: 5_000,
    };

    #[test]
    fn nothing_committed_or_behind_keeps_the_cursor() {
        let local = cursor(pos(3, 100), Some(pos(3, 900)));
        assert_eq!(decide(local, None, DURABLE), Resume::NothingCommitted);
        let below = pos(3, 99).as_u64();
        assert_eq!(
            decide(local, Some(below), DURABLE),
            Resume::Behind { committed: below }
        );
        assert_eq!(
            decide(local, Some(0), DURABLE),
            Resume::Behind { committed: 0 }
        );
    }

    #[test]
    fn a_committed_in_flight_batch_is_not_sent_again() {
        // The batch [3:100 ..= 3:900] was in flight; the receiver committed it.
        let local = cursor(pos(3, 100), Some(pos(3, 900)));
        assert_eq!(
            decide(local, Some(pos(3, 900).as_u64()), DURABLE),
            Resume::Advance(cursor(pos(3, 901), None))
        );
        // And later batches too (the cursor file was a batch behind, or lost).
        assert_eq!(
            decide(local, Some(pos(6, 40).as_u64()), DURABLE),
            Resume::Advance(cursor(pos(6, 41), None))
        );
    }

    #[test]
    fn the_committed_record_itself_is_skipped() {
        // Committed exactly at the cursor: that record is done, the next one is not.
        let local = cursor(pos(3, 100), None);
        assert_eq!(
            decide(local, Some(pos(3, 100).as_u64()), DURABLE),
            Resume::Advance(cursor(pos(3, 101), None))
        );
    }

    #[test]
    fn an_in_flight_batch_past_the_mark_is_still_rebuilt_to_its_end() {
        let local = cursor(pos(3, 100), Some(pos(3, 900)));
        assert_eq!(
            decide(local, Some(pos(3, 400).as_u64()), DURABLE),
            Resume::Advance(cursor(pos(3, 401), Some(pos(3, 900))))
        );
    }

    #[test]
    fn a_mark_past_the_durable_wal_is_not_trusted() {
        let local = cursor(pos(3, 100), None);
        for committed in [DURABLE.as_u64(), DURABLE.as_u64() + 1, u64::MAX] {
            assert_eq!(
                decide(local, Some(committed), DURABLE),
                Resume::PastWal {
                    committed,
                    durable: DURABLE
                }
            );
        }
        // The last record before the end is fine.
        assert_eq!(
            decide(local, Some(DURABLE.as_u64() - 1), DURABLE),
            Resume::Advance(cursor(DURABLE, None))
        );
    }

    #[test]
    fn the_successor_crosses_a_segment_boundary_in_order() {
        let local = cursor(pos(3, 100), None);
        let Resume::Advance(next) = decide(local, Some(pos(3, u32::MAX).as_u64()), DURABLE) else {
            panic!("expected an advance");
        };
        assert_eq!(next.acked, pos(4, 0));
        assert!(next.acked > pos(3, u32::MAX));
    }
}
