//! Retention (`--storage.retention`): each shard's leader periodically commits a
//! [`Command::DeleteBefore`] with the cut `now - retention`, so every replica deletes the same
//! data at the same log position.
//!
//! A deletion drops whole partitions (cheap: one range tombstone and whole SST files) but then
//! reads the shard's remaining chunk keys once to find series left without data, so it runs
//! hourly, not continuously; data outlives the retention by up to an hour plus a partition.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::command::{Command, Response};
use crate::node::{Node, WRITE_TIMEOUT};

/// Time between two retention passes.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// Delay before the first pass after a start, so a restarting cluster elects its leaders and
/// catches up on writes first.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(300);

impl Node {
    /// Background task: apply the retention to the shards this node leads.
    pub(crate) async fn enforce_retention(self: Arc<Self>) {
        let mut pause = FIRST_PASS_AFTER;
        loop {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.stopped() => return,
            }
            pause = RETENTION_EVERY;
            let before_ms = now_ms().saturating_sub(self.config.tsdb.retention_ms);
            for (shard, raft) in self.hosted_replicas() {
                if raft.metrics().borrow().current_leader != Some(self.id()) {
                    continue;
                }
                let proposal = raft.client_write(Command::DeleteBefore { before_ms });
                match tokio::time::timeout(WRITE_TIMEOUT, proposal).await {
                    Ok(Ok(reply)) => {
                        if let Response::Deleted { series_removed, .. } = reply.data {
                            tracing::debug!(shard, before_ms, series_removed, "retention pass");
                        }
                    }
                    // The next pass cuts again, later; a lost pass only keeps data longer.
                    Ok(Err(e)) => tracing::warn!(shard, error = %e, "retention not applied"),
                    Err(_) => tracing::warn!(shard, "retention pass timed out (outcome unknown)"),
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
