//! Handles to one endpoint's series of the agent's remote-write metrics.
//!
//! The families live in `AgentMetrics`; this resolves the `{remote_name, url}` children once so
//! the hot path increments an atomic instead of hashing labels per batch.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::drop_cause::DropCause;
use crate::metrics::{AgentMetrics, RemoteDropLabels, RemoteLabels};

/// One endpoint's metric handles.
#[derive(Debug)]
pub struct EndpointMetrics {
    pub sent_samples: Counter,
    pub sent_batches: Counter,
    pub sent_bytes: Counter,
    pub retried_batches: Counter,
    pub failed_requests: Counter,
    /// Queues that resumed after the receiver's committed position rather than their cursor.
    pub committed_resumes: Counter,
    dropped: [Counter; DropCause::ALL.len()],
    pub pending_samples: Gauge,
    pub queues: Gauge,
    lag_seconds: Gauge<f64, AtomicU64>,
    pub request_duration: Histogram,
    /// Timestamp (ms) of the newest sample acknowledged; starts at the shipper's start time so
    /// an endpoint that is down from the start still shows a growing lag.
    newest_acked_ms: AtomicI64,
}

impl EndpointMetrics {
    pub fn new(metrics: &AgentMetrics, remote_name: &str, url: &str) -> Self {
        let labels = RemoteLabels {
            remote_name: remote_name.to_owned(),
            url: url.to_owned(),
        };
        let dropped = DropCause::ALL.map(|cause| {
            let labels = RemoteDropLabels {
                remote_name: remote_name.to_owned(),
                url: url.to_owned(),
                reason: cause.as_label().to_owned(),
            };
            metrics
                .remote_dropped_samples_total
                .get_or_create(&labels)
                .clone()
        });
        Self {
            sent_samples: metrics
                .remote_sent_samples_total
                .get_or_create(&labels)
                .clone(),
            sent_batches: metrics
                .remote_sent_batches_total
                .get_or_create(&labels)
                .clone(),
            sent_bytes: metrics
                .remote_sent_bytes_total
                .get_or_create(&labels)
                .clone(),
            retried_batches: metrics
                .remote_retried_batches_total
                .get_or_create(&labels)
                .clone(),
            failed_requests: metrics
                .remote_failed_requests_total
                .get_or_create(&labels)
                .clone(),
            committed_resumes: metrics
                .remote_committed_resumes_total
                .get_or_create(&labels)
                .clone(),
            dropped,
            pending_samples: metrics
                .remote_pending_samples
                .get_or_create(&labels)
                .clone(),
            queues: metrics.remote_queues.get_or_create(&labels).clone(),
            lag_seconds: metrics.remote_lag_seconds.get_or_create(&labels).clone(),
            request_duration: metrics
                .remote_request_duration_seconds
                .get_or_create(&labels)
                .clone(),
            newest_acked_ms: AtomicI64::new(now_ms()),
        }
    }

    pub fn dropped(&self, cause: DropCause, samples: u64) {
        if samples > 0 {
            self.dropped[cause as usize].inc_by(samples);
        }
    }

    #[cfg(test)]
    pub fn dropped_count(&self, cause: DropCause) -> u64 {
        self.dropped[cause as usize].get()
    }

    /// Records an acknowledged batch whose newest sample has timestamp `newest_ms`.
    pub fn acked(&self, newest_ms: i64) {
        self.newest_acked_ms.fetch_max(newest_ms, Ordering::Relaxed);
    }

    /// Refreshes `remote_lag_seconds`: how far behind the wall clock the newest acknowledged
    /// sample is while samples are pending, 0 when the endpoint has caught up.
    pub fn refresh_lag(&self) {
        let lag = if self.pending_samples.get() > 0 {
            (now_ms() - self.newest_acked_ms.load(Ordering::Relaxed)).max(0) as f64 / 1000.0
        } else {
            0.0
        };
        self.lag_seconds.set(lag);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
