//! Metric metadata on the node: kept where it was received ([`crate::metadata`]), read from
//! every node. A read asks each member of the meta group for its entries of the tenant
//! (`/internal/metadata`) and merges them; a member that does not answer within
//! [`METADATA_READ_TIMEOUT`] is left out and logged, since metadata is descriptive and a
//! partial answer beats none (the next resend from a sender restores it anyway).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::join_all;
use tokio::time::Instant;

use crate::metadata::MetricMetadata;
use crate::network::path::InternalPath;
use crate::node::Node;

/// How long a metadata read waits for each peer.
pub const METADATA_READ_TIMEOUT: Duration = Duration::from_secs(5);

impl Node {
    /// Keeps metadata received with a remote write on this node; returns how many new entries
    /// did not fit under the tenant's limit.
    pub fn record_metadata(&self, tenant: &str, entries: Vec<MetricMetadata>) -> usize {
        if entries.is_empty() {
            return 0;
        }
        self.metadata.record(tenant, entries, now_ms())
    }

    /// This node's unexpired entries of `tenant` (what a peer's read gets).
    pub(crate) fn local_metadata(&self, tenant: &str) -> Vec<MetricMetadata> {
        self.metadata.entries(tenant, now_ms())
    }

    /// Every member's metadata of `tenant`, merged and sorted.
    pub async fn metadata(&self, tenant: &str) -> Vec<MetricMetadata> {
        let peers: Vec<_> = {
            let metrics = self.meta.metrics();
            let metrics = metrics.borrow();
            metrics
                .membership_config
                .membership()
                .nodes()
                .map(|(id, _)| *id)
                .filter(|id| *id != self.id())
                .collect()
        };
        let body = match postcard::to_stdvec(tenant) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::warn!(error = %e, "encoding a metadata read");
                return self.local_metadata(tenant);
            }
        };
        let deadline = Instant::now() + METADATA_READ_TIMEOUT;
        let reads = peers.iter().map(|peer| {
            self.call_peer::<Vec<MetricMetadata>>(
                *peer,
                InternalPath::Metadata,
                body.clone(),
                deadline,
            )
        });
        let mut merged: BTreeSet<MetricMetadata> =
            self.local_metadata(tenant).into_iter().collect();
        for (peer, reply) in peers.iter().zip(join_all(reads).await) {
            match reply {
                Ok(entries) => merged.extend(entries),
                Err(refusal) => {
                    tracing::warn!(peer, ?refusal, "metadata read left a node out");
                }
            }
        }
        merged.into_iter().collect()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
