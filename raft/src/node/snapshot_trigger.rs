//! The size trigger for shard snapshots. openraft's snapshot policy counts log entries, but a
//! group-committed entry carries anywhere from one sample to
//! [`MAX_ENTRY_SAMPLES`](crate::node::group_commit::MAX_ENTRY_SAMPLES), each with its full
//! label set, so a count of entries does not bound the log's bytes: under heavy load it grew to
//! gigabytes per shard before the first purge. This task also asks for a snapshot (a head
//! flush, after which openraft purges the log) once a replica has applied
//! [`SNAPSHOT_EVERY_SAMPLES`] samples since its last one.
//!
//! A snapshot no longer seals the head (see `skyview_storage::tsdb`), so frequent ones cost a
//! write of the changed series' heads, not shorter chunks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::Node;

/// Samples applied since the last snapshot that trigger a new one: about 40 MiB of log at
/// 170 bytes per sample (a one-sample series with six labels).
pub const SNAPSHOT_EVERY_SAMPLES: u64 = 250_000;
/// How often the counts are looked at.
const CHECK_EVERY: Duration = Duration::from_millis(500);

impl Node {
    /// Remembers `shard`'s count of samples applied since its last snapshot.
    pub(crate) fn watch_snapshot_size(&self, shard: u32, unsnapshotted: Arc<AtomicU64>) {
        self.unsnapshotted
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(shard, unsnapshotted);
    }

    /// Forgets `shard`'s count (its replica stopped).
    pub(crate) fn unwatch_snapshot_size(&self, shard: u32) {
        self.unsnapshotted
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&shard);
    }

    /// Background task: trigger a snapshot of every hosted replica past the threshold.
    pub(crate) async fn trigger_snapshots(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(CHECK_EVERY) => {}
                () = self.stopped() => return,
            }
            let due: Vec<u32> = self
                .unsnapshotted
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|(_, count)| count.load(Ordering::Relaxed) >= SNAPSHOT_EVERY_SAMPLES)
                .map(|(shard, _)| *shard)
                .collect();
            let replicas = self.hosted_replicas();
            for shard in due {
                let Some(raft) = replicas.get(&shard) else {
                    continue;
                };
                // openraft ignores the request while a build is running; the count stays up
                // until a build finishes, so the next check asks again.
                if let Err(e) = raft.trigger().snapshot().await {
                    tracing::debug!(shard, error = %e, "snapshot not triggered");
                }
            }
        }
    }
}
