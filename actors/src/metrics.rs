//! Every self-metric the agent exports, defined in one place.
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds`, `_bytes`), and where a
//! Prometheus agent has an equivalent metric we keep its meaning so existing dashboards carry
//! over. Components receive an `Arc<AgentMetrics>` and update the fields they own.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of per-job scrape metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: String,
}

/// Labels of per-job failure counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScrapeFailureLabels {
    pub job: String,
    /// `http`, `timeout`, `parse`, `invalid_series`, `sample_limit`, `label_limit`, `body_size`,
    /// or `wal` (the scrape could not be appended).
    pub reason: String,
}

/// Labels of per-endpoint remote-write metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RemoteLabels {
    pub remote_name: String,
    pub url: String,
}

/// Labels of per-endpoint dropped-sample counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RemoteDropLabels {
    pub remote_name: String,
    pub url: String,
    /// `http_4xx` (rejected by the receiver), `http_status` (a 1xx/3xx answer), `relabel`
    /// (dropped by write_relabel_configs), `unknown_series` (samples of a series the WAL never
    /// defined) or `encode` (a batch too large to compress); see `shipper::drop_cause`.
    pub reason: String,
}

/// The agent's metrics and the registry that renders them.
#[derive(Debug)]
pub struct AgentMetrics {
    pub registry: Registry,

    // Scrape.
    pub scrapes_total: Family<JobLabels, Counter>,
    pub scrape_failures_total: Family<ScrapeFailureLabels, Counter>,
    pub scrape_duration_seconds: Family<JobLabels, Histogram>,
    pub scraped_samples_total: Family<JobLabels, Counter>,
    pub targets: Family<JobLabels, Gauge>,

    // WAL.
    pub wal_segments: Gauge,
    pub wal_bytes: Gauge,
    pub wal_series: Gauge,
    pub wal_appended_samples_total: Counter,
    pub wal_fsyncs_total: Counter,
    pub wal_fsync_duration_seconds: Histogram,
    pub wal_dropped_samples_total: Counter,
    pub wal_corruptions_total: Counter,
    pub wal_truncations_total: Counter,

    // Remote write.
    pub remote_sent_samples_total: Family<RemoteLabels, Counter>,
    pub remote_sent_batches_total: Family<RemoteLabels, Counter>,
    pub remote_sent_bytes_total: Family<RemoteLabels, Counter>,
    pub remote_retried_batches_total: Family<RemoteLabels, Counter>,
    pub remote_failed_requests_total: Family<RemoteLabels, Counter>,
    /// Shipper queues that, on start, resumed after the position a Skyview receiver reported
    /// as committed, because it was past the queue's own persisted cursor.
    pub remote_committed_resumes_total: Family<RemoteLabels, Counter>,
    pub remote_dropped_samples_total: Family<RemoteDropLabels, Counter>,
    pub remote_pending_samples: Family<RemoteLabels, Gauge>,
    pub remote_queues: Family<RemoteLabels, Gauge>,
    /// While samples are pending: wall clock minus the timestamp of the newest acknowledged
    /// sample (so it grows during an outage); 0 when the endpoint has caught up.
    pub remote_lag_seconds: Family<RemoteLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub remote_request_duration_seconds: Family<RemoteLabels, Histogram>,

    // Config.
    pub config_last_reload_successful: Gauge,
    pub config_last_reload_success_timestamp_seconds: Gauge,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let r = registry.sub_registry_with_prefix("skyview_agent");

        let scrapes_total = Family::<JobLabels, Counter>::default();
        r.register("scrapes", "Scrapes attempted", scrapes_total.clone());
        let scrape_failures_total = Family::<ScrapeFailureLabels, Counter>::default();
        r.register(
            "scrape_failures",
            "Scrapes that failed, by reason",
            scrape_failures_total.clone(),
        );
        let scrape_duration_seconds =
            Family::<JobLabels, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        r.register(
            "scrape_duration_seconds",
            "Time taken by scrapes",
            scrape_duration_seconds.clone(),
        );
        let scraped_samples_total = Family::<JobLabels, Counter>::default();
        r.register(
            "scraped_samples",
            "Samples appended by scrapes, after relabelling",
            scraped_samples_total.clone(),
        );
        let targets = Family::<JobLabels, Gauge>::default();
        r.register("targets", "Active scrape targets", targets.clone());

        let wal_segments = Gauge::default();
        r.register(
            "wal_segments",
            "WAL segment files on disk",
            wal_segments.clone(),
        );
        let wal_bytes = Gauge::default();
        r.register(
            "wal_bytes",
            "Bytes of WAL segment files on disk",
            wal_bytes.clone(),
        );
        let wal_series = Gauge::default();
        r.register("wal_series", "Series known to the WAL", wal_series.clone());
        let wal_appended_samples_total = Counter::default();
        r.register(
            "wal_appended_samples",
            "Samples made durable in the WAL",
            wal_appended_samples_total.clone(),
        );
        let wal_fsyncs_total = Counter::default();
        r.register(
            "wal_fsyncs",
            "Group-commit fsyncs of the WAL",
            wal_fsyncs_total.clone(),
        );
        let wal_fsync_duration_seconds = duration_histogram();
        r.register(
            "wal_fsync_duration_seconds",
            "Duration of WAL fsyncs",
            wal_fsync_duration_seconds.clone(),
        );
        let wal_dropped_samples_total = Counter::default();
        r.register("wal_dropped_samples", "Samples deleted from the WAL by the size or age budget before every endpoint acknowledged them", wal_dropped_samples_total.clone());
        let wal_corruptions_total = Counter::default();
        r.register(
            "wal_corruptions",
            "Torn or corrupt WAL tails truncated on replay",
            wal_corruptions_total.clone(),
        );
        let wal_truncations_total = Counter::default();
        r.register(
            "wal_truncations",
            "WAL segments deleted after every endpoint acknowledged them",
            wal_truncations_total.clone(),
        );

        let remote_sent_samples_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_sent_samples",
            "Samples acknowledged by the remote endpoint",
            remote_sent_samples_total.clone(),
        );
        let remote_sent_batches_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_sent_batches",
            "Batches acknowledged by the remote endpoint",
            remote_sent_batches_total.clone(),
        );
        let remote_sent_bytes_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_sent_bytes",
            "Compressed request bytes acknowledged",
            remote_sent_bytes_total.clone(),
        );
        let remote_retried_batches_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_retried_batches",
            "Batch sends retried after 5xx, 429 or network errors",
            remote_retried_batches_total.clone(),
        );
        let remote_failed_requests_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_failed_requests",
            "Requests that failed (any status but 2xx, or a network error)",
            remote_failed_requests_total.clone(),
        );
        let remote_committed_resumes_total = Family::<RemoteLabels, Counter>::default();
        r.register(
            "remote_committed_resumes",
            "Queues that resumed after the receiver's committed position, which was past their persisted cursor",
            remote_committed_resumes_total.clone(),
        );
        let remote_dropped_samples_total = Family::<RemoteDropLabels, Counter>::default();
        r.register("remote_dropped_samples", "Samples not delivered by design: rejected with a non-retryable 4xx or dropped by write relabelling", remote_dropped_samples_total.clone());
        let remote_pending_samples = Family::<RemoteLabels, Gauge>::default();
        r.register(
            "remote_pending_samples",
            "Samples read from the WAL and not yet acknowledged",
            remote_pending_samples.clone(),
        );
        let remote_queues = Family::<RemoteLabels, Gauge>::default();
        r.register(
            "remote_queues",
            "Parallel send queues",
            remote_queues.clone(),
        );
        let remote_lag_seconds =
            Family::<RemoteLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        r.register("remote_lag_seconds", "While samples are pending, seconds between now and the newest acknowledged sample; 0 when caught up", remote_lag_seconds.clone());
        let remote_request_duration_seconds =
            Family::<RemoteLabels, Histogram>::new_with_constructor(
                duration_histogram as fn() -> _,
            );
        r.register(
            "remote_request_duration_seconds",
            "Duration of remote-write requests",
            remote_request_duration_seconds.clone(),
        );

        let config_last_reload_successful = Gauge::default();
        r.register(
            "config_last_reload_successful",
            "Whether the last configuration reload succeeded",
            config_last_reload_successful.clone(),
        );
        let config_last_reload_success_timestamp_seconds = Gauge::default();
        r.register(
            "config_last_reload_success_timestamp_seconds",
            "Time of the last successful configuration reload",
            config_last_reload_success_timestamp_seconds.clone(),
        );

        Self {
            registry,
            scrapes_total,
            scrape_failures_total,
            scrape_duration_seconds,
            scraped_samples_total,
            targets,
            wal_segments,
            wal_bytes,
            wal_series,
            wal_appended_samples_total,
            wal_fsyncs_total,
            wal_fsync_duration_seconds,
            wal_dropped_samples_total,
            wal_corruptions_total,
            wal_truncations_total,
            remote_sent_samples_total,
            remote_sent_batches_total,
            remote_sent_bytes_total,
            remote_retried_batches_total,
            remote_failed_requests_total,
            remote_committed_resumes_total,
            remote_dropped_samples_total,
            remote_pending_samples,
            remote_queues,
            remote_lag_seconds,
            remote_request_duration_seconds,
            config_last_reload_successful,
            config_last_reload_success_timestamp_seconds,
        }
    }

    /// Renders the registry in the text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
