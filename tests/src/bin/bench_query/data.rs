//! The query benchmark's data set: deterministic, computed sample by sample in closed form, so
//! that any slice of it can be built on demand without holding the whole set in memory.
//!
//! Three metrics, every series sampled every 15 s over the window. As in real scrapes, the
//! series of one target (instance and job) share a timestamp, offset by 0..15 s from the slot
//! by target:
//! - `http_requests_total`: exactly `counters` counters labelled `cluster` (4 values, fixed per
//!   instance), `instance` (up to 250 `host-N:9100`), `job` (10), `handler` and `code` (`500`
//!   for about one series in ten). Counter `i` has instance `i mod 250`, job `(i / 250) mod 10`
//!   and handler `i / 2500`, so every label set is distinct. Values are integers growing by
//!   `per_slot` plus a jitter smaller than `per_slot` (strictly increasing); about one series
//!   in fifty resets to 0 once. The first 8 counters are "hot": they grow far faster than all
//!   others, each at its own pace, so that `topk(5, ..)` has no ties and both systems must
//!   pick the same series.
//! - `request_duration_seconds`: a classic histogram (8 `le` buckets, `_sum`, `_count`) per
//!   (cluster, job, instance) of [`HISTOGRAM_TARGETS`] targets. Per-bucket counts grow like the
//!   counters; buckets are cumulative over `le`, and `_sum` adds dyadic bucket midpoints.
//! - `instance_info{instance, team}` = 1, exactly one series per instance of the counters (as
//!   if from an inventory job), so `* on(instance) group_left(team) instance_info` is
//!   many-to-one.
//!
//! Every value is an integer or a multiple of 1/32, so sums are exact in any order.

use std::ops::Range;

use skyview_api::remote_write::WriteRequest;
use skyview_tests::remote_write_client::{time_series, write_request};

/// The scrape interval of every series.
pub const INTERVAL_MS: i64 = 15_000;
/// Slots per hour at [`INTERVAL_MS`].
pub const SLOTS_PER_HOUR: i64 = 3_600_000 / INTERVAL_MS;

pub const COUNTER: &str = "http_requests_total";
pub const BUCKET: &str = "request_duration_seconds_bucket";
pub const INFO: &str = "instance_info";
const SUM: &str = "request_duration_seconds_sum";
const COUNT: &str = "request_duration_seconds_count";

/// Distinct instances of the counters (fewer when there are fewer counters).
const INSTANCES: usize = 250;
const CLUSTERS: [&str; 4] = ["eu-1", "eu-2", "us-1", "us-2"];
const JOBS: [&str; 10] = [
    "api", "web", "auth", "billing", "search", "cart", "checkout", "catalog", "payments", "gateway",
];
const TEAMS: [&str; 6] = ["core", "edge", "data", "payments", "growth", "platform"];
/// Targets with a histogram (instances `host-0` to `host-99`).
pub const HISTOGRAM_TARGETS: usize = 100;
pub const BUCKETS: [&str; 8] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
/// A representative duration per bucket (dyadic, so `_sum` stays exact).
const BUCKET_MIDS: [f64; 8] = [0.03125, 0.0625, 0.125, 0.375, 0.75, 1.5, 4.0, 8.0];
/// Observations per slot of each bucket, before a target's scale.
const BUCKET_WEIGHTS: [u64; 8] = [6, 10, 16, 12, 6, 3, 2, 1];
/// The first this many counters are hot (see the module documentation): more than `topk(5, ..)`
/// picks, whatever `--series` is.
const HOT: usize = 8;

/// Salts, so that the pseudo-random choices of one kind are independent of another's.
const SALT_OFFSET: u64 = 1;
const SALT_CODE: u64 = 2;
const SALT_RATE: u64 = 3;
const SALT_RESET: u64 = 4;
const SALT_HISTOGRAM: u64 = 5;

/// How one series' value at a slot is computed.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// `per_slot * slot + jitter(slot)` with `jitter < per_slot`, less its value at `reset_at`
    /// from that slot on.
    Counter {
        per_slot: u64,
        jitter: u64,
        seed: u64,
        reset_at: Option<i64>,
    },
    /// A part of a histogram whose per-bucket counts derive from `seed` and `scale`.
    Histogram {
        seed: u64,
        scale: u64,
        part: HistogramPart,
    },
    /// Always 1.
    Info,
}

#[derive(Clone, Copy, Debug)]
enum HistogramPart {
    /// The cumulative bucket of this index in [`BUCKETS`].
    Bucket(usize),
    Sum,
    Count,
}

/// One series: its labels, its scrape offset (from the slot) and its values.
#[derive(Clone, Debug)]
struct Series {
    labels: Vec<(String, String)>,
    offset_ms: i64,
    values: Values,
}

impl Series {
    fn value(&self, slot: i64) -> f64 {
        match self.values {
            Values::Counter {
                per_slot,
                jitter,
                seed,
                reset_at,
            } => {
                let raw = |s: i64| per_slot * s as u64 + mix2(seed, s as u64) % jitter;
                let base = reset_at.filter(|&r| slot >= r).map_or(0, raw);
                (raw(slot) - base) as f64
            }
            Values::Histogram { seed, scale, part } => {
                let per_bucket = |b: usize| {
                    let weight = BUCKET_WEIGHTS[b] * scale;
                    weight * slot as u64 + mix2(seed + b as u64, slot as u64) % weight
                };
                match part {
                    HistogramPart::Bucket(upto) => (0..=upto).map(per_bucket).sum::<u64>() as f64,
                    HistogramPart::Count => (0..BUCKETS.len()).map(per_bucket).sum::<u64>() as f64,
                    HistogramPart::Sum => (0..BUCKETS.len())
                        .map(|b| per_bucket(b) as f64 * BUCKET_MIDS[b])
                        .sum(),
                }
            }
            Values::Info => 1.0,
        }
    }
}

/// The whole data set; see the module documentation.
#[derive(Clone, Debug)]
pub struct DataSet {
    start_ms: i64,
    samples_per_series: i64,
    counters: usize,
    series: Vec<Series>,
}

impl DataSet {
    /// `counters` counters (plus the histograms and the info series), each with
    /// `samples_per_series` samples, the last slot at `end_ms` rounded down to 15 s.
    pub fn new(counters: usize, samples_per_series: i64, end_ms: i64) -> Self {
        let samples_per_series = samples_per_series.max(1);
        let end_ms = end_ms - end_ms.rem_euclid(INTERVAL_MS);
        let start_ms = end_ms - (samples_per_series - 1) * INTERVAL_MS;
        let last_slot = samples_per_series - 1;
        let mut series = Vec::new();
        let named = |name: &str, pairs: &[(&str, String)]| {
            let mut labels = vec![("__name__".to_owned(), name.to_owned())];
            labels.extend(pairs.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
            labels
        };
        for i in 0..counters {
            let instance = i % INSTANCES;
            let k = i / INSTANCES;
            let code = if mix2(SALT_CODE, i as u64).is_multiple_of(10) {
                "500"
            } else {
                "200"
            };
            let labels = named(
                COUNTER,
                &[
                    ("cluster", cluster_of(instance).to_owned()),
                    ("instance", instance_name(instance)),
                    ("job", JOBS[k % JOBS.len()].to_owned()),
                    ("handler", format!("/r{}", k / JOBS.len())),
                    ("code", code.to_owned()),
                ],
            );
            let hot = i < HOT;
            let (per_slot, jitter) = if hot {
                (5_000 + 1_000 * i as u64, 100)
            } else if code == "500" {
                let per_slot = 1 + mix2(SALT_RATE, i as u64) % 3;
                (per_slot, per_slot)
            } else {
                let per_slot = 1 + mix2(SALT_RATE, i as u64) % 40;
                (per_slot, per_slot)
            };
            let resets = !hot && last_slot > 4 && mix2(SALT_RESET, i as u64).is_multiple_of(50);
            let reset_at = resets
                .then(|| 2 + (mix2(SALT_RESET + 1, i as u64) % (last_slot as u64 - 2)) as i64);
            series.push(Series {
                labels,
                offset_ms: scrape_offset_ms(instance, k % JOBS.len()),
                values: Values::Counter {
                    per_slot,
                    jitter,
                    seed: i as u64,
                    reset_at,
                },
            });
        }
        for target in 0..HISTOGRAM_TARGETS {
            let seed = mix2(SALT_HISTOGRAM, target as u64);
            let scale = 1 + seed % 4;
            let base = [
                ("cluster", cluster_of(target).to_owned()),
                ("instance", instance_name(target)),
                ("job", JOBS[target % JOBS.len()].to_owned()),
            ];
            let histogram = |part| Values::Histogram { seed, scale, part };
            let offset_ms = scrape_offset_ms(target, target % JOBS.len());
            for (b, le) in BUCKETS.iter().enumerate() {
                let mut pairs = base.to_vec();
                pairs.push(("le", (*le).to_owned()));
                series.push(Series {
                    labels: named(BUCKET, &pairs),
                    offset_ms,
                    values: histogram(HistogramPart::Bucket(b)),
                });
            }
            for (name, part) in [(SUM, HistogramPart::Sum), (COUNT, HistogramPart::Count)] {
                series.push(Series {
                    labels: named(name, &base),
                    offset_ms,
                    values: histogram(part),
                });
            }
        }
        for instance in 0..counters.min(INSTANCES) {
            series.push(Series {
                labels: named(
                    INFO,
                    &[
                        ("instance", instance_name(instance)),
                        ("team", TEAMS[instance % TEAMS.len()].to_owned()),
                    ],
                ),
                offset_ms: scrape_offset_ms(instance, JOBS.len()),
                values: Values::Info,
            });
        }
        Self {
            start_ms,
            samples_per_series,
            counters,
            series,
        }
    }

    /// The first slot (ms); samples fall up to 15 s after a slot.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// The last slot (ms); the newest samples are less than 15 s after it.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + (self.samples_per_series - 1) * INTERVAL_MS
    }

    pub fn samples_per_series(&self) -> i64 {
        self.samples_per_series
    }

    /// Series of every metric.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn sample_count(&self) -> u64 {
        self.series.len() as u64 * self.samples_per_series as u64
    }

    /// Series of `http_requests_total`.
    pub fn counters(&self) -> usize {
        self.counters
    }

    /// Distinct instances of the counters, each with one `instance_info` series.
    pub fn instances(&self) -> usize {
        self.counters.min(INSTANCES)
    }

    /// Series of the histograms (buckets, `_sum` and `_count`).
    pub fn histogram_series(&self) -> usize {
        HISTOGRAM_TARGETS * (BUCKETS.len() + 2)
    }

    /// Series of `request_duration_seconds_bucket`.
    pub fn buckets(&self) -> usize {
        HISTOGRAM_TARGETS * BUCKETS.len()
    }

    /// A remote-write request holding the samples of `slots` of the series with the indices
    /// `series` (both clamped to the data set).
    pub fn request(&self, series: Range<usize>, slots: Range<i64>) -> WriteRequest {
        let series = series.start.min(self.series.len())..series.end.min(self.series.len());
        let slots = slots.start.max(0)..slots.end.min(self.samples_per_series);
        let timeseries = self.series[series]
            .iter()
            .map(|s| {
                let samples: Vec<(i64, f64)> = slots
                    .clone()
                    .map(|slot| {
                        let t = self.start_ms + slot * INTERVAL_MS + s.offset_ms;
                        (t, s.value(slot))
                    })
                    .collect();
                let labels: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                time_series(&labels, &samples)
            })
            .collect();
        write_request(timeseries)
    }
}

fn instance_name(index: usize) -> String {
    format!("host-{index}:9100")
}

/// The scrape offset of the target `(instance, job)`, job `JOBS.len()` being the inventory job
/// of `instance_info`.
fn scrape_offset_ms(instance: usize, job: usize) -> i64 {
    let target = (instance * (JOBS.len() + 1) + job) as u64;
    (mix2(SALT_OFFSET, target) % INTERVAL_MS as u64) as i64
}

/// The cluster an instance lives in (fixed per instance, as in a real fleet).
fn cluster_of(instance: usize) -> &'static str {
    CLUSTERS[instance % CLUSTERS.len()]
}

/// SplitMix64's finaliser: a well-spread deterministic hash.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix2(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn label<'a>(series: &'a skyview_api::remote_write::TimeSeries, name: &str) -> &'a str {
        series
            .labels
            .iter()
            .find(|l| l.name == name)
            .map_or("", |l| l.value.as_str())
    }

    fn whole(data: &DataSet) -> WriteRequest {
        data.request(0..data.series_count(), 0..data.samples_per_series())
    }

    #[test]
    fn has_exactly_the_asked_counters_with_distinct_label_sets() {
        let data = DataSet::new(10_000, 241, 1_700_000_000_000);
        let request = whole(&data);
        let counters: Vec<_> = request
            .timeseries
            .iter()
            .filter(|s| label(s, "__name__") == COUNTER)
            .collect();
        assert_eq!(counters.len(), 10_000);
        let distinct: BTreeSet<Vec<(&str, &str)>> = request
            .timeseries
            .iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(distinct.len(), data.series_count());
        let instances: BTreeSet<_> = counters.iter().map(|s| label(s, "instance")).collect();
        assert_eq!(instances.len(), 250);
        let errors = counters
            .iter()
            .filter(|s| label(s, "code") == "500")
            .count();
        assert!(
            (500..=1_500).contains(&errors),
            "{errors} series with code 500"
        );
        assert_eq!(
            data.series_count(),
            10_000 + HISTOGRAM_TARGETS * (BUCKETS.len() + 2) + 250
        );
        assert_eq!(data.sample_count(), data.series_count() as u64 * 241);
    }

    #[test]
    fn info_series_are_one_per_instance_and_an_instance_has_one_cluster() {
        let data = DataSet::new(1_000, 10, 1_700_000_000_000);
        let request = whole(&data);
        let info: Vec<_> = request
            .timeseries
            .iter()
            .filter(|s| label(s, "__name__") == INFO)
            .map(|s| label(s, "instance"))
            .collect();
        let distinct: BTreeSet<_> = info.iter().collect();
        assert_eq!((info.len(), distinct.len()), (250, 250));
        let mut clusters = BTreeMap::new();
        for s in &request.timeseries {
            let cluster = clusters
                .entry(label(s, "instance"))
                .or_insert(label(s, "cluster"));
            if label(s, "__name__") != INFO {
                assert_eq!(*cluster, label(s, "cluster"), "{:?}", s.labels);
            }
        }
        assert_eq!(DataSet::new(40, 10, 0).instances(), 40);
    }

    #[test]
    fn counters_grow_and_reset_rarely_and_hot_series_have_no_ties() {
        let data = DataSet::new(10_000, 241, 1_700_000_000_000);
        let request = whole(&data);
        let mut resets = 0;
        let mut hot_rates = BTreeSet::new();
        for s in request
            .timeseries
            .iter()
            .filter(|s| label(s, "__name__") == COUNTER)
        {
            let drops = s
                .samples
                .windows(2)
                .filter(|w| w[1].value < w[0].value)
                .count();
            assert!(drops <= 1, "{:?}", s.labels);
            assert!(s.samples.windows(2).all(|w| w[1].value != w[0].value));
            resets += drops;
            let first = s.samples[0].value;
            let last = s.samples[s.samples.len() - 1].value;
            if drops == 0 && last - first > 240.0 * 1_000.0 {
                hot_rates.insert(((last - first) / 240_000.0).round() as u64);
            }
        }
        assert!((100..=300).contains(&resets), "{resets} resets");
        assert_eq!(hot_rates.len(), 8, "hot series' paces {hot_rates:?}");
    }

    #[test]
    fn histograms_are_cumulative_and_monotone() {
        let data = DataSet::new(10, 50, 1_700_000_000_000);
        let request = whole(&data);
        let mut by_target: BTreeMap<(String, String), Vec<Vec<f64>>> = BTreeMap::new();
        let mut times: BTreeMap<(String, String), BTreeSet<Vec<i64>>> = BTreeMap::new();
        for s in &request.timeseries {
            if !label(s, "__name__").starts_with("request_duration_seconds") {
                continue;
            }
            let key = (label(s, "instance").to_owned(), label(s, "job").to_owned());
            times
                .entry(key.clone())
                .or_default()
                .insert(s.samples.iter().map(|x| x.timestamp).collect());
            if label(s, "__name__") != BUCKET {
                continue;
            }
            assert!(s.samples.windows(2).all(|w| w[1].value > w[0].value));
            by_target
                .entry(key)
                .or_default()
                .push(s.samples.iter().map(|x| x.value).collect());
        }
        assert_eq!(by_target.len(), HISTOGRAM_TARGETS);
        // One scrape per target: its buckets, `_sum` and `_count` share every timestamp.
        assert!(times.values().all(|t| t.len() == 1));
        for buckets in by_target.values() {
            // In the order of BUCKETS: each `le` counts at least what the one below does.
            for pair in buckets.windows(2) {
                assert!(pair[0].iter().zip(&pair[1]).all(|(a, b)| a <= b));
            }
        }
        let sums_exact = request
            .timeseries
            .iter()
            .filter(|s| label(s, "__name__") == SUM)
            .flat_map(|s| &s.samples)
            .all(|x| (x.value * 32.0).fract() == 0.0);
        assert!(sums_exact);
    }

    #[test]
    fn every_series_is_in_time_order_inside_the_window_and_slices_join_up() {
        let end = 1_700_000_007_000;
        let data = DataSet::new(300, 20, end);
        assert_eq!(data.end_ms() % INTERVAL_MS, 0);
        assert!(data.end_ms() <= end);
        assert_eq!(data.end_ms() - data.start_ms(), 19 * INTERVAL_MS);
        let all = whole(&data);
        for s in &all.timeseries {
            assert!(s
                .samples
                .windows(2)
                .all(|w| w[0].timestamp < w[1].timestamp));
            assert!(s.samples[0].timestamp >= data.start_ms());
            assert!(s.samples[s.samples.len() - 1].timestamp < data.end_ms() + INTERVAL_MS);
        }
        let first = data.request(10..20, 0..7);
        let second = data.request(10..20, 7..100);
        for (k, (a, b)) in first.timeseries.iter().zip(&second.timeseries).enumerate() {
            let joined: Vec<_> = a.samples.iter().chain(&b.samples).collect();
            let expected: Vec<_> = all.timeseries[10 + k].samples.iter().collect();
            assert_eq!(joined, expected);
        }
    }
}
