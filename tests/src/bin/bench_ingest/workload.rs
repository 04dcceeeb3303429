//! The ingest workload of the performance brief, as remote-write requests.
//!
//! Series `i` belongs to target `i / 50` and is that target's metric `i % 50`, so a request of
//! consecutive series holds whole targets, as a Prometheus shipping a scrape would send them.
//! Every series has 6 labels, sorted by name as remote write requires: `__name__` (one of 50
//! names, half counters and half gauges), `cluster`, `instance`, `job`, `pod` and `zone`, with
//! values shaped like Kubernetes ones (a pod name with its replica-set hash, a `10.x.y.z:port`
//! instance), so label sizes and the index are realistic.
//!
//! Values are realistic too: counters grow by random integer increments (sometimes 0), gauges
//! do a random walk kept at two decimals. Each round is one sample per series, one interval
//! (the brief's 15 s) after the previous round, plus a fixed per-target offset within the
//! interval (targets are not scraped in lockstep).
//!
//! A [`Slice`] is a contiguous range of series with its own seeded random generator, so a run
//! is reproducible and the samples of one slice can be regenerated for a check without keeping
//! them: the benchmark cuts the series into request-sized slices, the failover load gives one
//! slice to each sending queue.

use anyhow::{ensure, Result};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use skyview_api::remote_write::{encode_write_request, Label, Sample, TimeSeries, WriteRequest};

/// The brief's spacing between rounds.
pub const ROUND_INTERVAL_MS: i64 = 15_000;

/// Metric names per target.
pub const METRICS_PER_TARGET: usize = METRICS.len();

/// Counters are monotonic integers; gauges random-walk with two decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// The 50 metric names, as applications export them.
const METRICS: [(&str, Kind); 50] = [
    ("http_requests_total", Kind::Counter),
    ("http_request_errors_total", Kind::Counter),
    ("http_request_size_bytes_total", Kind::Counter),
    ("http_response_size_bytes_total", Kind::Counter),
    ("grpc_server_handled_total", Kind::Counter),
    ("grpc_server_msg_received_total", Kind::Counter),
    ("db_queries_total", Kind::Counter),
    ("db_query_errors_total", Kind::Counter),
    ("cache_hits_total", Kind::Counter),
    ("cache_misses_total", Kind::Counter),
    ("cache_evictions_total", Kind::Counter),
    ("kafka_messages_produced_total", Kind::Counter),
    ("kafka_messages_consumed_total", Kind::Counter),
    ("jobs_processed_total", Kind::Counter),
    ("jobs_failed_total", Kind::Counter),
    ("auth_attempts_total", Kind::Counter),
    ("process_cpu_seconds_total", Kind::Counter),
    ("container_network_receive_bytes_total", Kind::Counter),
    ("container_network_transmit_bytes_total", Kind::Counter),
    ("container_fs_reads_bytes_total", Kind::Counter),
    ("container_fs_writes_bytes_total", Kind::Counter),
    ("go_gc_cycles_total", Kind::Counter),
    ("log_lines_total", Kind::Counter),
    ("retries_total", Kind::Counter),
    ("timeouts_total", Kind::Counter),
    ("http_requests_in_flight", Kind::Gauge),
    ("process_resident_memory_bytes", Kind::Gauge),
    ("container_memory_working_set_bytes", Kind::Gauge),
    ("container_cpu_usage_ratio", Kind::Gauge),
    ("go_goroutines", Kind::Gauge),
    ("process_open_fds", Kind::Gauge),
    ("db_connections_active", Kind::Gauge),
    ("db_connections_idle", Kind::Gauge),
    ("cache_size_bytes", Kind::Gauge),
    ("cache_items", Kind::Gauge),
    ("queue_depth", Kind::Gauge),
    ("queue_oldest_message_age_seconds", Kind::Gauge),
    ("jobs_running", Kind::Gauge),
    ("worker_pool_utilization_ratio", Kind::Gauge),
    ("node_filesystem_avail_bytes", Kind::Gauge),
    ("node_filesystem_size_bytes", Kind::Gauge),
    ("node_hwmon_temp_celsius", Kind::Gauge),
    ("http_request_duration_p99_seconds", Kind::Gauge),
    ("process_uptime_seconds", Kind::Gauge),
    ("go_memstats_heap_objects", Kind::Gauge),
    ("net_conntrack_open_connections", Kind::Gauge),
    ("sessions_active", Kind::Gauge),
    ("replication_lag_seconds", Kind::Gauge),
    ("batch_size_average", Kind::Gauge),
    ("config_last_reload_success", Kind::Gauge),
];

const CLUSTERS: [&str; 4] = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"];
const ZONE_SUFFIXES: [&str; 3] = ["a", "b", "c"];
const JOBS: [&str; 10] = [
    "api", "web", "worker", "payments", "cache", "ingest", "auth", "billing", "search", "gateway",
];

/// Every metric name of the workload, for per-name completeness queries.
pub fn metric_names() -> impl Iterator<Item = &'static str> {
    METRICS.iter().map(|(name, _)| *name)
}

/// The metric name of series `index`.
pub fn metric_name(index: usize) -> &'static str {
    METRICS[index % METRICS_PER_TARGET].0
}

/// SplitMix64: a fixed, well-mixed hash of an integer, for label values and offsets that must
/// look random but be the same in every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The sorted labels of series `index`.
pub fn series_labels(index: usize) -> Vec<Label> {
    let target = index / METRICS_PER_TARGET;
    let t = target as u64;
    let cluster = CLUSTERS[target % CLUSTERS.len()];
    let zone = format!(
        "{cluster}{}",
        ZONE_SUFFIXES[(target / CLUSTERS.len()) % ZONE_SUFFIXES.len()]
    );
    let job = JOBS[(target / 12) % JOBS.len()];
    let hash = mix(t);
    let label = |name: &str, value: String| Label {
        name: name.to_owned(),
        value,
    };
    vec![
        label("__name__", metric_name(index).to_owned()),
        label("cluster", cluster.to_owned()),
        label(
            "instance",
            format!(
                "10.{}.{}.{}:8080",
                (t >> 16) & 0xff,
                (t >> 8) & 0xff,
                t & 0xff
            ),
        ),
        label("job", job.to_owned()),
        label(
            "pod",
            format!("{job}-{:08x}-{:05x}", hash >> 32, hash & 0xf_ffff),
        ),
        label("zone", zone),
    ]
}

/// Milliseconds a target's samples lie after the round's start (fixed per target, less than
/// the interval so rounds never overlap).
fn target_offset_ms(index: usize, interval_ms: i64) -> i64 {
    (mix(!((index / METRICS_PER_TARGET) as u64)) % interval_ms.max(1) as u64) as i64
}

/// One series' evolving value; gauges are kept in hundredths so they stay at two decimals.
#[derive(Clone, Copy, Debug)]
enum Value {
    Counter(u64),
    GaugeCents(i64),
}

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            Self::Counter(v) => v as f64,
            Self::GaugeCents(c) => c as f64 / 100.0,
        }
    }
}

/// A contiguous range of series with their values, advancing one round at a time.
#[derive(Debug)]
pub struct Slice {
    first: usize,
    labels: Vec<Vec<Label>>,
    values: Vec<Value>,
    rng: StdRng,
    base_ms: i64,
    interval_ms: i64,
    /// Rounds generated so far; the next round is number `rounds`.
    rounds: u64,
}

impl Slice {
    /// Series `first..first + len`; round `r` is at `base_ms + r * interval_ms` (plus
    /// offsets). `seed` and `first` together seed the values, so equal arguments give equal
    /// samples.
    pub fn new(first: usize, len: usize, seed: u64, base_ms: i64, interval_ms: i64) -> Self {
        let mut rng = StdRng::seed_from_u64(mix(seed ^ mix(first as u64)));
        let values = (first..first + len)
            .map(|i| match METRICS[i % METRICS_PER_TARGET].1 {
                Kind::Counter => Value::Counter(rng.random_range(0..1_000_000)),
                Kind::Gauge => Value::GaugeCents(rng.random_range(0..100_000)),
            })
            .collect();
        Self {
            first,
            labels: (first..first + len).map(series_labels).collect(),
            values,
            rng,
            base_ms,
            interval_ms,
            rounds: 0,
        }
    }

    /// Rounds generated so far.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// The timestamp of series `index` (global) in round `round`.
    pub fn timestamp(&self, index: usize, round: u64) -> i64 {
        self.base_ms + round as i64 * self.interval_ms + target_offset_ms(index, self.interval_ms)
    }

    /// Advances every value by one round and returns that round's request.
    pub fn next_request(&mut self) -> WriteRequest {
        let round = self.rounds;
        self.advance();
        let timeseries = self
            .labels
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(|(offset, (labels, value))| TimeSeries {
                labels: labels.clone(),
                samples: vec![Sample {
                    value: value.as_f64(),
                    timestamp: self.timestamp(self.first + offset, round),
                }],
            })
            .collect();
        WriteRequest {
            timeseries,
            metadata: Vec::new(),
        }
    }

    /// Advances every value by one round and returns `(timestamp_ms, value)` of each series,
    /// in series order, without building a request (for checks regenerating what was sent).
    pub fn next_samples(&mut self) -> Vec<(i64, f64)> {
        let round = self.rounds;
        self.advance();
        self.values
            .iter()
            .enumerate()
            .map(|(offset, value)| (self.timestamp(self.first + offset, round), value.as_f64()))
            .collect()
    }

    fn advance(&mut self) {
        // Only rounds after the first move the values, so round 0 shows the initial ones.
        if self.rounds > 0 {
            for value in &mut self.values {
                *value = match *value {
                    Value::Counter(v) => Value::Counter(v + self.rng.random_range(0..100)),
                    Value::GaugeCents(c) => {
                        Value::GaugeCents((c + self.rng.random_range(-500..=500)).max(0))
                    }
                };
            }
        }
        self.rounds += 1;
    }
}

/// The benchmark's whole load, encoded: `rounds` rounds of `series` series cut into requests
/// of `per_request` series, round after round (request `i + per_round` follows request `i`'s
/// series one round later). Returns the bodies and the number of requests per round.
pub fn encoded_rounds(
    series: usize,
    rounds: u64,
    per_request: usize,
    seed: u64,
    base_ms: i64,
) -> Result<(Vec<Bytes>, usize)> {
    ensure!(
        series > 0 && rounds > 0 && per_request > 0,
        "an empty workload"
    );
    let mut slices: Vec<Slice> = (0..series)
        .step_by(per_request)
        .map(|first| {
            let len = per_request.min(series - first);
            Slice::new(first, len, seed, base_ms, ROUND_INTERVAL_MS)
        })
        .collect();
    let mut bodies = Vec::with_capacity(slices.len() * rounds as usize);
    for _ in 0..rounds {
        for slice in &mut slices {
            bodies.push(Bytes::from(encode_write_request(&slice.next_request())?));
        }
    }
    Ok((bodies, slices.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_have_six_sorted_unique_labels() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..10_000 {
            let labels = series_labels(index);
            assert_eq!(labels.len(), 6);
            assert!(
                labels.windows(2).all(|w| w[0].name < w[1].name),
                "{labels:?}"
            );
            let key: Vec<&str> = labels.iter().map(|l| l.value.as_str()).collect();
            assert!(
                seen.insert(key.join("\u{1}")),
                "series {index} repeats labels"
            );
        }
        // Two metrics of one target share every label but the name.
        let (a, b) = (series_labels(100), series_labels(101));
        assert_ne!(a[0].value, b[0].value);
        assert_eq!(a[1..], b[1..]);
    }

    #[test]
    fn values_are_realistic_and_reproducible() {
        let mut slice = Slice::new(0, 100, 42, 1_000_000, ROUND_INTERVAL_MS);
        let mut again = Slice::new(0, 100, 42, 1_000_000, ROUND_INTERVAL_MS);
        let first = slice.next_request();
        let second = slice.next_request();
        assert_eq!(first, again.next_request());
        assert_eq!(second.timeseries.len(), 100);
        for (a, b) in first.timeseries.iter().zip(&second.timeseries) {
            let (a, b) = (a.samples[0], b.samples[0]);
            assert_eq!(b.timestamp - a.timestamp, ROUND_INTERVAL_MS);
            let two_decimals: f64 = format!("{:.2}", b.value).parse().unwrap();
            assert_eq!(two_decimals, b.value, "at most two decimals");
        }
        // Counters never decrease.
        for (i, (a, b)) in first.timeseries.iter().zip(&second.timeseries).enumerate() {
            if METRICS[i % METRICS_PER_TARGET].1 == Kind::Counter {
                assert!(b.samples[0].value >= a.samples[0].value);
            }
        }
        assert_eq!(slice.rounds(), 2);
    }

    #[test]
    fn encodes_rounds_of_whole_requests() {
        let (bodies, per_round) = encoded_rounds(250, 3, 100, 1, 0).unwrap();
        assert_eq!((bodies.len(), per_round), (9, 3));
        let decode = |i: usize| {
            skyview_api::remote_write::decode_write_request(&bodies[i], 1 << 24).unwrap()
        };
        assert_eq!(
            decode(2).timeseries.len(),
            50,
            "the last request of a round"
        );
        // Request 3 is request 0's series one round later.
        let (a, b) = (decode(0), decode(3));
        assert_eq!(a.timeseries[0].labels, b.timeseries[0].labels);
        assert_eq!(
            b.timeseries[0].samples[0].timestamp - a.timeseries[0].samples[0].timestamp,
            ROUND_INTERVAL_MS
        );
    }

    #[test]
    fn regenerated_samples_match_the_requests() {
        let mut sent = Slice::new(300, 50, 7, 0, 100);
        let mut check = Slice::new(300, 50, 7, 0, 100);
        for _ in 0..3 {
            let request = sent.next_request();
            let samples = check.next_samples();
            let from_request: Vec<(i64, f64)> = request
                .timeseries
                .iter()
                .map(|s| (s.samples[0].timestamp, s.samples[0].value))
                .collect();
            assert_eq!(from_request, samples);
        }
    }
}
