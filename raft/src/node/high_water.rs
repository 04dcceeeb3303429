//! Agents' committed high-water marks waiting to be proposed to the meta group.
//!
//! Every fully acknowledged identified write reports its queue's last WAL position; proposing
//! each one would put a meta entry behind every write. Instead the marks are merged here (the
//! highest per queue wins) and a background task proposes what accumulated, one entry per
//! queue per round. Losing a pending mark (crash) is safe: the agent then resumes lower and the
//! shards' batch dedup drops what it resends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::meta::command::MetaCommand;
use crate::node::Node;

/// Marks recorded but not yet committed through the meta group.
#[derive(Debug, Default)]
pub struct PendingHighWater {
    marks: Mutex<BTreeMap<(String, u32), u64>>,
    changed: Notify,
}

impl PendingHighWater {
    /// Record that `agent`'s `queue` is committed up to `last` (ignored if a higher mark is
    /// pending already).
    pub fn record(&self, agent: &str, queue: u32, last: u64) {
        {
            let mut marks = self.lock();
            let mark = marks.entry((agent.to_owned(), queue)).or_insert(last);
            *mark = (*mark).max(last);
        }
        self.changed.notify_one();
    }

    /// The pending mark of `agent`'s `queue`.
    pub fn get(&self, agent: &str, queue: u32) -> Option<u64> {
        self.lock().get(&(agent.to_owned(), queue)).copied()
    }

    /// A copy of every pending mark, to propose. The marks stay pending (and visible to
    /// [`Node::committed`]) until [`PendingHighWater::confirm`], so a mark being proposed is
    /// never missing from both this table and the meta state.
    pub fn pending(&self) -> BTreeMap<(String, u32), u64> {
        self.lock().clone()
    }

    /// `key` was committed through the meta group up to `last`: drop its pending mark unless a
    /// higher one was recorded meanwhile.
    pub fn confirm(&self, key: &(String, u32), last: u64) {
        let mut marks = self.lock();
        if marks.get(key).is_some_and(|mark| *mark <= last) {
            marks.remove(key);
        }
    }

    /// Wake the proposer to try the pending marks again.
    fn retry(&self) {
        self.changed.notify_one();
    }

    /// Wait until a mark is recorded (returns at once if one was recorded since the last wait).
    pub async fn recorded(&self) {
        self.changed.notified().await;
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, u32), u64>> {
        self.marks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Pause after a round of proposals, so marks of the next requests accumulate.
const ROUND_PAUSE: Duration = Duration::from_millis(100);
/// Pause after a failed round (no meta leader).
const FAILED_ROUND_PAUSE: Duration = Duration::from_millis(500);
/// Deadline of one mark's proposal.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

impl Node {
    /// Background task: propose pending high-water marks to the meta group.
    pub(crate) async fn propose_high_water(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.high_water.recorded() => {}
                () = self.stopped() => return,
            }
            let mut failed = false;
            for ((agent, queue), last) in self.high_water.pending() {
                let command = MetaCommand::RecordAgentHighWater {
                    agent: agent.clone(),
                    queue,
                    last,
                };
                let deadline = Instant::now() + PROPOSAL_TIMEOUT;
                match self.propose_meta(command, deadline).await {
                    Ok(_) => self.high_water.confirm(&(agent, queue), last),
                    Err(refusal) => {
                        tracing::debug!(agent, queue, last, %refusal, "high-water mark not committed yet");
                        failed = true;
                    }
                }
            }
            let pause = if failed {
                self.high_water.retry();
                FAILED_ROUND_PAUSE
            } else {
                ROUND_PAUSE
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.stopped() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_mark_wins_and_stays_visible_until_confirmed() {
        let pending = PendingHighWater::default();
        pending.record("edge", 0, 10);
        pending.record("edge", 0, 7);
        pending.record("edge", 1, 3);
        assert_eq!(pending.get("edge", 0), Some(10));
        let proposing = pending.pending();
        assert_eq!(proposing.len(), 2);
        // While being proposed, the mark is still visible.
        assert_eq!(pending.get("edge", 0), Some(10));
        pending.record("edge", 0, 12);
        pending.confirm(&("edge".to_owned(), 0), 10);
        pending.confirm(&("edge".to_owned(), 1), 3);
        assert_eq!(
            pending.get("edge", 0),
            Some(12),
            "a higher mark recorded meanwhile stays"
        );
        assert_eq!(pending.get("edge", 1), None);
    }

    #[tokio::test]
    async fn a_record_wakes_the_proposer() {
        let pending = PendingHighWater::default();
        pending.record("edge", 0, 1);
        // The permit stored by `record` makes this return immediately.
        pending.recorded().await;
    }
}
