//! Synthetic scrape targets: N listeners, each serving S series of text exposition.
//!
//! The load is the one the performance brief specifies: about 50 metric names, labels
//! `cluster`, `pod` and `zone` (the scraper adds `job` and `instance`), counters that grow by
//! random increments and gauges on a random walk with two decimals, so values change between
//! scrapes and compress as real data does. Every scrape renders fresh values into a reused
//! buffer from pre-rendered series prefixes, which keeps 100,000 series per round cheap.
//!
//! Each target counts the scrapes it served, which is the ground truth for completeness:
//! samples served = scrapes x S. One of the S series, [`SCRAPE_COUNTER`], carries the scrape's
//! own sequence number (1, 2, 3, ...), so a receiver holding every scrape has a gap-free run of
//! values for it. Targets can be made unavailable (503, not counted) to stop the flow of data
//! at a known point.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{ensure, Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The series whose value is the number of the scrape that served it.
pub const SCRAPE_COUNTER: &str = "synthetic_target_scrapes_total";

/// The content type of text format 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metric names, half counters and half gauges, as an application might export them.
const METRICS: [(&str, Kind); 50] = [
    ("http_requests_total", Kind::Counter),
    ("http_request_errors_total", Kind::Counter),
    ("http_request_bytes_total", Kind::Counter),
    ("http_response_bytes_total", Kind::Counter),
    ("grpc_server_handled_total", Kind::Counter),
    ("grpc_server_started_total", Kind::Counter),
    ("db_queries_total", Kind::Counter),
    ("db_query_errors_total", Kind::Counter),
    ("cache_hits_total", Kind::Counter),
    ("cache_misses_total", Kind::Counter),
    ("cache_evictions_total", Kind::Counter),
    ("queue_messages_published_total", Kind::Counter),
    ("queue_messages_consumed_total", Kind::Counter),
    ("queue_messages_failed_total", Kind::Counter),
    ("jobs_processed_total", Kind::Counter),
    ("jobs_failed_total", Kind::Counter),
    ("auth_logins_total", Kind::Counter),
    ("auth_failures_total", Kind::Counter),
    ("app_cpu_seconds_total", Kind::Counter),
    ("network_receive_bytes_total", Kind::Counter),
    ("network_transmit_bytes_total", Kind::Counter),
    ("disk_read_bytes_total", Kind::Counter),
    ("disk_written_bytes_total", Kind::Counter),
    ("gc_collections_total", Kind::Counter),
    ("log_messages_total", Kind::Counter),
    ("http_requests_in_flight", Kind::Gauge),
    ("memory_used_bytes", Kind::Gauge),
    ("memory_available_bytes", Kind::Gauge),
    ("cpu_usage_ratio", Kind::Gauge),
    ("worker_threads", Kind::Gauge),
    ("open_file_descriptors", Kind::Gauge),
    ("db_connections_active", Kind::Gauge),
    ("db_connections_idle", Kind::Gauge),
    ("cache_size_bytes", Kind::Gauge),
    ("cache_items", Kind::Gauge),
    ("queue_depth", Kind::Gauge),
    ("queue_lag_seconds", Kind::Gauge),
    ("jobs_running", Kind::Gauge),
    ("worker_pool_utilization_ratio", Kind::Gauge),
    ("disk_used_bytes", Kind::Gauge),
    ("disk_free_bytes", Kind::Gauge),
    ("temperature_celsius", Kind::Gauge),
    ("request_latency_p99_seconds", Kind::Gauge),
    ("uptime_seconds", Kind::Gauge),
    ("heap_objects", Kind::Gauge),
    ("connections_open", Kind::Gauge),
    ("sessions_active", Kind::Gauge),
    ("replication_lag_seconds", Kind::Gauge),
    ("batch_size_avg", Kind::Gauge),
    ("config_generation", Kind::Gauge),
];

const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// One series: its rendered `name{labels} ` prefix and current value.
#[derive(Debug)]
struct Series {
    prefix: String,
    kind: Kind,
    value: f64,
}

/// All series of one metric name, with its `# HELP`/`# TYPE` header.
#[derive(Debug)]
struct Family {
    header: String,
    series: Vec<Series>,
}

/// One target's evolving values and the scrape counter.
#[derive(Debug)]
struct Generator {
    rng: StdRng,
    families: Vec<Family>,
    scrapes: u64,
    buffer: String,
}

impl Generator {
    /// `series` series for target number `index` (seeded by it, so runs are reproducible).
    fn new(index: usize, series: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(index as u64);
        let mut families: Vec<Family> = METRICS
            .iter()
            .map(|(name, kind)| {
                let type_name = if *kind == Kind::Counter {
                    "counter"
                } else {
                    "gauge"
                };
                Family {
                    header: format!(
                        "# HELP {name} Synthetic {type_name}.\n# TYPE {name} {type_name}\n"
                    ),
                    series: Vec::new(),
                }
            })
            .collect();
        let cluster = format!("cluster-{}", index % 4);
        for i in 0..series.saturating_sub(1) {
            let (name, kind) = METRICS[i % METRICS.len()];
            let k = i / METRICS.len();
            let zone = ZONES[k % ZONES.len()];
            let value = match kind {
                Kind::Counter => rng.random_range(0..1_000_000u32) as f64,
                Kind::Gauge => (rng.random_range(0.0..1000.0f64) * 100.0).round() / 100.0,
            };
            families[i % METRICS.len()].series.push(Series {
                prefix: format!("{name}{{cluster=\"{cluster}\",pod=\"pod-{k}\",zone=\"{zone}\"}} "),
                kind,
                value,
            });
        }
        families.retain(|f| !f.series.is_empty());
        Self {
            rng,
            families,
            scrapes: 0,
            buffer: String::new(),
        }
    }

    /// Advances every value and renders the next scrape's body.
    fn next_scrape(&mut self) -> String {
        self.scrapes += 1;
        let out = &mut self.buffer;
        out.clear();
        let _ = write!(
            out,
            "# HELP {SCRAPE_COUNTER} Scrapes served by this target.\n# TYPE {SCRAPE_COUNTER} counter\n{SCRAPE_COUNTER} {}\n",
            self.scrapes
        );
        for family in &mut self.families {
            out.push_str(&family.header);
            for series in &mut family.series {
                series.value = match series.kind {
                    Kind::Counter => series.value + self.rng.random_range(0..100u32) as f64,
                    Kind::Gauge => {
                        let step = self.rng.random_range(-500..=500i32) as f64 / 100.0;
                        ((series.value + step).max(0.0) * 100.0).round() / 100.0
                    }
                };
                out.push_str(&series.prefix);
                match series.kind {
                    Kind::Counter => {
                        let _ = writeln!(out, "{}", series.value as u64);
                    }
                    Kind::Gauge => {
                        let _ = writeln!(out, "{:.2}", series.value);
                    }
                }
            }
        }
        out.clone()
    }
}

#[derive(Debug)]
struct TargetState {
    generator: Mutex<Generator>,
    served: AtomicU64,
    available: Arc<AtomicBool>,
}

/// A set of running synthetic targets; they stop when this is dropped.
#[derive(Debug)]
pub struct SyntheticTargets {
    states: Vec<Arc<TargetState>>,
    addrs: Vec<SocketAddr>,
    series_per_target: usize,
    available: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SyntheticTargets {
    /// Starts `count` targets with `series_per_target` series each (at least 1: the scrape
    /// counter), each on its own 127.0.0.1 port, serving `/metrics`.
    pub async fn start(count: usize, series_per_target: usize) -> Result<Self> {
        ensure!(
            series_per_target >= 1,
            "a target serves at least its scrape counter"
        );
        let available = Arc::new(AtomicBool::new(true));
        let mut targets = Self {
            states: Vec::with_capacity(count),
            addrs: Vec::with_capacity(count),
            series_per_target,
            available: available.clone(),
            tasks: Vec::with_capacity(count),
        };
        for index in 0..count {
            let state = Arc::new(TargetState {
                generator: Mutex::new(Generator::new(index, series_per_target)),
                served: AtomicU64::new(0),
                available: available.clone(),
            });
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding a synthetic target")?;
            let addr = listener.local_addr()?;
            let app = Router::new()
                .route("/metrics", get(serve_metrics))
                .with_state(state.clone());
            targets.tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("synthetic target {addr} stopped: {e}");
                }
            }));
            targets.states.push(state);
            targets.addrs.push(addr);
        }
        Ok(targets)
    }

    /// `host:port` of every target, for a scrape config.
    pub fn targets(&self) -> Vec<String> {
        self.addrs.iter().map(ToString::to_string).collect()
    }

    pub fn series_per_target(&self) -> usize {
        self.series_per_target
    }

    /// Scrapes served by target `index`.
    pub fn scrapes(&self, index: usize) -> u64 {
        self.states[index].served.load(Ordering::SeqCst)
    }

    /// Scrapes served by all targets.
    pub fn total_scrapes(&self) -> u64 {
        self.states
            .iter()
            .map(|s| s.served.load(Ordering::SeqCst))
            .sum()
    }

    /// Samples served by all targets: scrapes x series per target.
    pub fn samples_served(&self) -> u64 {
        self.total_scrapes() * self.series_per_target as u64
    }

    /// While unavailable, every scrape gets a 503 and is not counted as served.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }
}

impl Drop for SyntheticTargets {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn serve_metrics(State(state): State<Arc<TargetState>>) -> Response {
    if !state.available.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "target made unavailable by the test\n",
        )
            .into_response();
    }
    let body = {
        let mut generator = state
            .generator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let body = generator.next_scrape();
        state.served.fetch_add(1, Ordering::SeqCst);
        body
    };
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{sample_lines, sum_matching};
    use std::collections::HashSet;

    async fn fetch(target: &str) -> reqwest::Response {
        reqwest::get(format!("http://{target}/metrics"))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn serves_distinct_changing_series_and_counts_scrapes() {
        let targets = SyntheticTargets::start(2, 2_000).await.unwrap();
        let addr = &targets.targets()[1];
        let first = fetch(addr).await.text().await.unwrap();
        let second = fetch(addr).await.text().await.unwrap();

        let lines = sample_lines(&first);
        assert_eq!(lines.len(), 2_000);
        let names: HashSet<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names.len(), 51, "50 metric names plus the scrape counter");
        let identities: HashSet<String> = lines
            .iter()
            .map(|l| format!("{}{:?}", l.name, l.labels))
            .collect();
        assert_eq!(identities.len(), 2_000, "every series is distinct");
        assert_eq!(sum_matching(&first, SCRAPE_COUNTER, &[]), Some(1.0));
        assert_eq!(sum_matching(&second, SCRAPE_COUNTER, &[]), Some(2.0));
        assert!(sum_matching(&first, "cpu_usage_ratio", &[("pod", "pod-0")]).is_some());

        let changed = sample_lines(&first)
            .iter()
            .zip(sample_lines(&second).iter())
            .filter(|(a, b)| a.value != b.value)
            .count();
        assert!(
            changed > 1_000,
            "values change between scrapes ({changed} changed)"
        );
        for line in first.lines().filter(|l| l.starts_with("cpu_usage_ratio")) {
            let value = line.rsplit(' ').next().unwrap();
            assert_eq!(
                value.split('.').nth(1).map(str::len),
                Some(2),
                "gauge with two decimals: {line}"
            );
        }

        assert_eq!(targets.scrapes(1), 2);
        assert_eq!(targets.scrapes(0), 0);
        assert_eq!(targets.samples_served(), 4_000);
    }

    #[tokio::test]
    async fn an_unavailable_target_answers_503_and_counts_nothing() {
        let targets = SyntheticTargets::start(1, 10).await.unwrap();
        targets.set_available(false);
        assert_eq!(
            fetch(&targets.targets()[0]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(targets.total_scrapes(), 0);
        targets.set_available(true);
        assert!(fetch(&targets.targets()[0]).await.status().is_success());
        assert_eq!(targets.total_scrapes(), 1);
    }
}
