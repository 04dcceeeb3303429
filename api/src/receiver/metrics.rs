//! The receiver's self-metrics (`skyview_receiver_*`), defined in one place, and the
//! middleware that counts every request by route and status code.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use skyview_raft::write_batch::WriteOutcome;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/api/v1/write`, `/internal/{*path}`, ...), or `unmatched`.
    pub handler: String,
    /// The HTTP status code.
    pub code: String,
}

/// The receiver's metrics and the registry that renders them.
#[derive(Debug)]
pub struct ReceiverMetrics {
    registry: Registry,
    pub requests_total: Family<RequestLabels, Counter>,
    /// Samples in write requests that passed validation.
    pub samples_received_total: Counter,
    pub samples_applied_total: Counter,
    pub samples_duplicate_total: Counter,
    pub samples_rejected_total: Counter,
    /// Shard parts of identified requests skipped whole: their batch was already applied.
    pub batches_duplicate_total: Counter,
    /// Time from a write request's arrival to its answer, whatever the answer.
    pub write_duration_seconds: Histogram,
}

impl Default for ReceiverMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ReceiverMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let r = registry.sub_registry_with_prefix("skyview_receiver");
        let requests_total = Family::<RequestLabels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests answered, by route and status code",
            requests_total.clone(),
        );
        let samples_received_total = Counter::default();
        r.register(
            "samples_received",
            "Samples in valid remote-write requests",
            samples_received_total.clone(),
        );
        let samples_applied_total = Counter::default();
        r.register(
            "samples_applied",
            "Samples stored (committed on a quorum and applied)",
            samples_applied_total.clone(),
        );
        let samples_duplicate_total = Counter::default();
        r.register(
            "samples_duplicate",
            "Samples already stored (same series, timestamp and value), stored once",
            samples_duplicate_total.clone(),
        );
        let samples_rejected_total = Counter::default();
        r.register(
            "samples_rejected",
            "Samples refused by the store (too old, out of bounds, conflicting value)",
            samples_rejected_total.clone(),
        );
        let batches_duplicate_total = Counter::default();
        r.register(
            "batches_duplicate",
            "Shard parts of identified batches skipped because they were already applied",
            batches_duplicate_total.clone(),
        );
        let write_duration_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        r.register(
            "write_duration_seconds",
            "Latency of remote-write requests, from arrival to answer",
            write_duration_seconds.clone(),
        );
        Self {
            registry,
            requests_total,
            samples_received_total,
            samples_applied_total,
            samples_duplicate_total,
            samples_rejected_total,
            batches_duplicate_total,
            write_duration_seconds,
        }
    }

    /// Counts what one shard part's apply did.
    pub fn record_outcome(&self, outcome: &WriteOutcome) {
        self.samples_applied_total.inc_by(outcome.samples_applied);
        self.samples_duplicate_total
            .inc_by(outcome.samples_duplicate);
        self.samples_rejected_total.inc_by(outcome.samples_rejected);
        if outcome.batch_duplicate {
            self.batches_duplicate_total.inc();
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `GET /metrics`.
pub async fn serve_metrics(State(metrics): State<Arc<ReceiverMetrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

/// Middleware: counts every answered request by route pattern and status, and times writes.
pub async fn count_requests(
    State(metrics): State<Arc<ReceiverMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    if handler == super::WRITE_PATH {
        metrics
            .write_duration_seconds
            .observe(started.elapsed().as_secs_f64());
    }
    metrics
        .requests_total
        .get_or_create(&RequestLabels {
            handler,
            code: response.status().as_u16().to_string(),
        })
        .inc();
    response
}
