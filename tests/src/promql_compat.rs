//! The PromQL compatibility suite's shared parts: one data set that goes, request for request,
//! into a real Prometheus and into Skyview; a raw client for `/api/v1/query` and
//! `/api/v1/query_range` that keeps everything a comparison needs (HTTP status, `errorType`,
//! `resultType`, labels, timestamps, values as numbers); and the comparison itself.
//!
//! The data set is deterministic and small (about 110 series, 50 minutes at a 15 s or 30 s
//! interval): counters with resets, gauges with negative values and values in `[-1, 1]`,
//! classic histograms, series that end with a staleness marker (one of them resumes), series
//! with a short (3 min) and a long (10 min) gap, deliberate NaN and ±Inf values, info-style
//! series for `group_left`, duplicated info series for many-to-many errors, and Unix times as
//! values for the time functions. Every series carries a `cluster` label (`eu-1`, `us-2`), as
//! an agent's `external_labels` arrive. Values are multiples of 1/8 so sums are exact whatever
//! the order, and gauges used by `topk`/`bottomk` have disjoint per-series ranges so that no
//! tie makes the selection ambiguous.
//!
//! The comparison takes Prometheus's answer as the reference: same status, same `errorType`
//! and HTTP status for errors (the message may differ), same `resultType`, the same set of
//! series by their full label sets, equal timestamps, and values equal within 1e-9 relative
//! (NaN equals NaN, infinities equal themselves; an absolute floor of 1e-12 absorbs the
//! rounding noise of results that should be zero). Order is compared only where Prometheus
//! defines it (the value order of `sort` and `sort_desc`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use skyview_actors::sample::stale_nan;
use skyview_api::remote_write::WriteRequest;
use skyview_promql::calendar::civil_from_days;

use crate::remote_write_client::{time_series, write_request};

/// A series' full label set, as the API returns it in `metric`.
pub type Labels = BTreeMap<String, String>;

/// Values within this relative distance are equal.
pub const RELATIVE_TOLERANCE: f64 = 1e-9;
/// Values within this absolute distance are equal (rounding noise around zero).
pub const ABSOLUTE_FLOOR: f64 = 1e-12;

/// The scrape interval of most series.
pub const INTERVAL_MS: i64 = 15_000;
/// The scrape interval of the histograms.
pub const HISTOGRAM_INTERVAL_MS: i64 = 30_000;
/// Number of 15 s slots in the window (50 minutes).
pub const SLOTS: i64 = 200;
/// The slot at which the `batch_job_progress` and `jobs_processed_total` series get their
/// staleness marker (30 minutes into the window).
pub const STALE_SLOT: i64 = 120;
/// The slot at which one stale series of each metric resumes (40 minutes in).
pub const RESUME_SLOT: i64 = 160;

const CLUSTERS: [&str; 2] = ["eu-1", "us-2"];
const INSTANCES: [&str; 2] = ["host-1:9100", "host-2:9100"];
const JOBS: [&str; 2] = ["api", "web"];
const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
/// A representative duration per bucket (dyadic, so `_sum` stays exact).
const BUCKET_MIDS: [f64; 7] = [0.03125, 0.0625, 0.125, 0.375, 0.75, 1.5, 4.0];
/// Unix times used as values: a leap day, a mid-month afternoon, the last second of a year,
/// the last second of a day at a month's start.
const START_TIMES: [f64; 4] = [
    1_709_164_800.0,
    1_700_003_661.0,
    1_672_531_199.0,
    1_719_878_399.0,
];

/// One series of the data set with all its samples in time order.
#[derive(Clone, Debug)]
pub struct DataSeries {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

/// The whole data set, anchored at `start_ms`.
#[derive(Clone, Debug)]
pub struct DataSet {
    start_ms: i64,
    series: Vec<DataSeries>,
}

impl DataSet {
    /// The data set whose window ends at `end_ms` (rounded down to 15 s) and starts 50 minutes
    /// earlier. Samples fall up to 13 s after a slot (each series has its own scrape offset).
    pub fn ending_at(end_ms: i64) -> Self {
        let end_ms = end_ms - end_ms.rem_euclid(INTERVAL_MS);
        let start_ms = end_ms - SLOTS * INTERVAL_MS;
        let mut builder = Builder {
            start_ms,
            series: Vec::new(),
        };
        builder.counters();
        builder.gauges();
        builder.histograms();
        builder.stale_series();
        builder.gappy_series();
        builder.odd_values();
        builder.info_series();
        Self {
            start_ms,
            series: builder.series,
        }
    }

    /// The first slot (ms).
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// The last slot (ms); the newest samples are up to 13 s after it.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + SLOTS * INTERVAL_MS
    }

    /// The slot of the staleness markers (ms); each marker is up to 13 s after it.
    pub fn stale_ms(&self) -> i64 {
        self.start_ms + STALE_SLOT * INTERVAL_MS
    }

    /// A moment just after every staleness marker of [`STALE_SLOT`].
    pub fn after_stale_ms(&self) -> i64 {
        self.stale_ms() + INTERVAL_MS + 1_000
    }

    pub fn series(&self) -> &[DataSeries] {
        &self.series
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// The data set as `slices` remote-write requests, each holding every series' samples of
    /// one time slice, oldest slice first, so that a receiver without out-of-order ingestion
    /// (Prometheus 2.42's default) accepts all of them.
    pub fn requests(&self, slices: i64) -> Vec<WriteRequest> {
        let slices = slices.max(1);
        // The window plus the scrape offsets after the last slot.
        let span = SLOTS * INTERVAL_MS + INTERVAL_MS;
        let width = span / slices + 1;
        (0..slices)
            .map(|k| {
                let from = self.start_ms + k * width;
                let to = from + width;
                let series = self
                    .series
                    .iter()
                    .filter_map(|s| {
                        let samples: Vec<(i64, f64)> = s
                            .samples
                            .iter()
                            .copied()
                            .filter(|&(t, _)| t >= from && t < to)
                            .collect();
                        if samples.is_empty() {
                            return None;
                        }
                        let labels: Vec<(&str, &str)> = s
                            .labels
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str()))
                            .collect();
                        Some(time_series(&labels, &samples))
                    })
                    .collect();
                write_request(series)
            })
            .filter(|request| !request.timeseries.is_empty())
            .collect()
    }
}

struct Builder {
    start_ms: i64,
    series: Vec<DataSeries>,
}

impl Builder {
    /// The timestamp of slot `slot` for the `k`-th series overall: a per-series scrape offset
    /// (1..13 s) and a few milliseconds of per-scrape jitter, as real scrapes have.
    fn at(&self, k: usize, slot: i64, interval_ms: i64) -> i64 {
        let k = k as i64;
        let offset = (k * 1_931) % 13_000 + 1;
        let jitter = (slot * 7 + k * 13) % 5;
        self.start_ms + slot * interval_ms + offset + jitter
    }

    fn push(&mut self, labels: &[(&str, &str)], values: impl Fn(i64) -> Option<f64>) {
        self.push_every(labels, INTERVAL_MS, SLOTS, values);
    }

    fn push_every(
        &mut self,
        labels: &[(&str, &str)],
        interval_ms: i64,
        slots: i64,
        values: impl Fn(i64) -> Option<f64>,
    ) {
        let k = self.series.len();
        let samples = (0..=slots)
            .filter_map(|slot| values(slot).map(|v| (self.at(k, slot, interval_ms), v)))
            .collect();
        self.series.push(DataSeries {
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            samples,
        });
    }

    /// `http_requests_total`: 20 counters, three of them with resets (one to exactly 0).
    fn counters(&mut self) {
        let mut k = 0usize;
        for cluster in CLUSTERS {
            for job in JOBS {
                for instance in INSTANCES {
                    for method in ["get", "post"] {
                        let mut codes = vec!["200"];
                        if job == "api" && method == "post" {
                            codes.push("500");
                        }
                        for code in codes {
                            let resets: &[i64] = match k {
                                5 => &[80],
                                12 => &[150],
                                17 => &[60, 140],
                                _ => &[],
                            };
                            let values = counter_values(k, SLOTS, resets, k == 12);
                            self.push(
                                &[
                                    ("__name__", "http_requests_total"),
                                    ("cluster", cluster),
                                    ("job", job),
                                    ("instance", instance),
                                    ("method", method),
                                    ("code", code),
                                ],
                                |slot| Some(values[slot as usize]),
                            );
                            k += 1;
                        }
                    }
                }
            }
        }
    }

    /// Gauges: temperatures (negative for some), queue depths (0 at times), `up` (one target
    /// down, one flapping), ratios in `[-1, 1]`, and Unix times.
    fn gauges(&mut self) {
        let mut k = 0i64;
        for cluster in CLUSTERS {
            for instance in INSTANCES {
                for sensor in ["cpu", "ambient"] {
                    let kk = k;
                    self.push(
                        &[
                            ("__name__", "node_temperature_celsius"),
                            ("cluster", cluster),
                            ("job", "node"),
                            ("instance", instance),
                            ("sensor", sensor),
                        ],
                        move |i| {
                            Some((kk * 10 - 15) as f64 + ((i * 7 + kk * 3) % 32) as f64 * 0.25)
                        },
                    );
                    k += 1;
                }
            }
        }
        let mut k = 0i64;
        for cluster in CLUSTERS {
            for job in JOBS {
                let kk = k;
                self.push(
                    &[
                        ("__name__", "queue_depth"),
                        ("cluster", cluster),
                        ("job", job),
                        ("instance", INSTANCES[0]),
                    ],
                    move |i| Some((kk * 100 + (i * 13 + kk * 5) % 40) as f64),
                );
                k += 1;
            }
        }
        let mut k = 0i64;
        for cluster in CLUSTERS {
            for job in JOBS {
                for instance in INSTANCES {
                    let kk = k;
                    self.push(
                        &[
                            ("__name__", "up"),
                            ("cluster", cluster),
                            ("job", job),
                            ("instance", instance),
                        ],
                        move |i| {
                            Some(match kk {
                                7 => 0.0,
                                6 if (i / 40) % 2 == 1 => 0.0,
                                _ => 1.0,
                            })
                        },
                    );
                    k += 1;
                }
            }
        }
        let mut k = 0i64;
        for cluster in CLUSTERS {
            for instance in INSTANCES {
                let kk = k;
                self.push(
                    &[
                        ("__name__", "ratio"),
                        ("cluster", cluster),
                        ("job", "node"),
                        ("instance", instance),
                    ],
                    move |i| Some(((i * 3 + kk * 5) % 17) as f64 / 8.0 - 1.0),
                );
                k += 1;
            }
        }
        let mut k = 0usize;
        for cluster in CLUSTERS {
            for job in JOBS {
                let value = START_TIMES[k];
                self.push(
                    &[
                        ("__name__", "process_start_time_seconds"),
                        ("cluster", cluster),
                        ("job", job),
                        ("instance", INSTANCES[0]),
                    ],
                    move |_| Some(value),
                );
                k += 1;
            }
        }
    }

    /// `request_duration_seconds`: four classic histograms at a 30 s interval, one with a
    /// reset.
    fn histograms(&mut self) {
        let slots = SLOTS * INTERVAL_MS / HISTOGRAM_INTERVAL_MS;
        let mut g = 0i64;
        for cluster in CLUSTERS {
            for job in JOBS {
                let reset_at = (g == 3).then_some(50);
                // Cumulative (over time) per-bucket counts and sum, per slot.
                let mut per_bucket = [0.0f64; 7];
                let mut sum = 0.0f64;
                let mut buckets: Vec<[f64; 7]> = Vec::new();
                let mut sums = Vec::new();
                for i in 0..=slots {
                    if Some(i) == reset_at {
                        per_bucket = [0.0; 7];
                        sum = 0.0;
                    }
                    for (b, count) in per_bucket.iter_mut().enumerate() {
                        let b = b as i64;
                        let increment = ((i + 3 * b + g) % 5 + (6 - b)) as f64;
                        *count += increment;
                        sum += increment * BUCKET_MIDS[b as usize];
                    }
                    let mut cumulative = [0.0f64; 7];
                    let mut running = 0.0;
                    for (b, count) in per_bucket.iter().enumerate() {
                        running += count;
                        cumulative[b] = running;
                    }
                    buckets.push(cumulative);
                    sums.push(sum);
                }
                let base = [
                    ("cluster", cluster),
                    ("job", job),
                    ("instance", INSTANCES[0]),
                ];
                for (b, le) in BUCKETS.iter().enumerate() {
                    let mut labels = vec![("__name__", "request_duration_seconds_bucket")];
                    labels.extend(base);
                    labels.push(("le", *le));
                    let column: Vec<f64> = buckets.iter().map(|row| row[b]).collect();
                    self.push_every(&labels, HISTOGRAM_INTERVAL_MS, slots, |i| {
                        Some(column[i as usize])
                    });
                }
                let mut labels = vec![("__name__", "request_duration_seconds_sum")];
                labels.extend(base);
                self.push_every(&labels, HISTOGRAM_INTERVAL_MS, slots, |i| {
                    Some(sums[i as usize])
                });
                let mut labels = vec![("__name__", "request_duration_seconds_count")];
                labels.extend(base);
                self.push_every(&labels, HISTOGRAM_INTERVAL_MS, slots, |i| {
                    Some(buckets[i as usize][6])
                });
                g += 1;
            }
        }
    }

    /// Series that end with a staleness marker: `batch_job_progress` (gauges; one resumes, one
    /// ends earlier) and `jobs_processed_total` (counters; one resumes from 0).
    fn stale_series(&mut self) {
        let stale = stale_nan();
        let mut k = 0i64;
        for cluster in CLUSTERS {
            for instance in INSTANCES {
                let kk = k;
                let end = if kk == 3 { 100 } else { STALE_SLOT };
                let resumes = kk == 0;
                self.push(
                    &[
                        ("__name__", "batch_job_progress"),
                        ("cluster", cluster),
                        ("job", "batch"),
                        ("instance", instance),
                    ],
                    move |i| {
                        let value = (kk * 50) as f64 + (i % 30) as f64 * 0.5;
                        if i < end || (resumes && i >= RESUME_SLOT) {
                            Some(value)
                        } else if i == end {
                            Some(stale)
                        } else {
                            None
                        }
                    },
                );
                k += 1;
            }
        }
        for (kk, &cluster) in CLUSTERS.iter().enumerate() {
            let resumes = kk == 1;
            self.push(
                &[
                    ("__name__", "jobs_processed_total"),
                    ("cluster", cluster),
                    ("job", "batch"),
                    ("instance", INSTANCES[0]),
                ],
                move |i| {
                    if i < STALE_SLOT {
                        Some((i * (3 + kk as i64)) as f64)
                    } else if i == STALE_SLOT {
                        Some(stale)
                    } else if resumes && i >= RESUME_SLOT {
                        Some(((i - RESUME_SLOT) * 2) as f64)
                    } else {
                        None
                    }
                },
            );
        }
    }

    /// `flaky_gauge`: a 10-minute gap (longer than the lookback) and a 3-minute one, without
    /// staleness markers.
    fn gappy_series(&mut self) {
        for cluster in CLUSTERS {
            for (gap, missing) in [("long", 60..100), ("short", 60..72)] {
                self.push(
                    &[
                        ("__name__", "flaky_gauge"),
                        ("cluster", cluster),
                        ("job", "flaky"),
                        ("gap", gap),
                    ],
                    move |i| (!missing.contains(&i)).then_some(5.0 + (i % 9) as f64),
                );
            }
        }
    }

    /// `odd_values`: NaN, +Inf, -Inf, zero, and a series with a NaN every tenth sample.
    fn odd_values(&mut self) {
        type Kind = (&'static str, fn(i64) -> f64);
        let kinds: [Kind; 5] = [
            ("nan", |_| f64::NAN),
            ("inf", |_| f64::INFINITY),
            ("neginf", |_| f64::NEG_INFINITY),
            ("zero", |_| 0.0),
            ("mixed", |i| {
                if i % 10 == 3 {
                    f64::NAN
                } else {
                    (i % 7) as f64 - 3.0
                }
            }),
        ];
        for (kind, value) in kinds {
            self.push(
                &[
                    ("__name__", "odd_values"),
                    ("cluster", "eu-1"),
                    ("job", "odd"),
                    ("kind", kind),
                ],
                move |i| Some(value(i)),
            );
        }
    }

    /// `node_info` (one per cluster and instance, for `group_left`) and `dup_info` (two per
    /// instance of `eu-1`, for many-to-many errors).
    fn info_series(&mut self) {
        let mut k = 0;
        for cluster in CLUSTERS {
            for (i, &instance) in INSTANCES.iter().enumerate() {
                let version = format!("1.2.{k}");
                let os = if i == 0 { "linux" } else { "freebsd" };
                self.push(
                    &[
                        ("__name__", "node_info"),
                        ("cluster", cluster),
                        ("job", "node"),
                        ("instance", instance),
                        ("version", version.as_str()),
                        ("os", os),
                    ],
                    |_| Some(1.0),
                );
                k += 1;
            }
        }
        for instance in INSTANCES {
            for variant in ["a", "b"] {
                self.push(
                    &[
                        ("__name__", "dup_info"),
                        ("cluster", "eu-1"),
                        ("job", "node"),
                        ("instance", instance),
                        ("variant", variant),
                    ],
                    |_| Some(1.0),
                );
            }
        }
    }
}

/// A counter's values over `slots + 1` slots: integer increments that differ per series,
/// starting at `k * 1000`, restarting at every slot of `resets` (from 0 exactly when
/// `reset_to_zero`, else from the slot's increment).
fn counter_values(k: usize, slots: i64, resets: &[i64], reset_to_zero: bool) -> Vec<f64> {
    let k = k as i64;
    let mut value = (k * 1000) as f64;
    (0..=slots)
        .map(|i| {
            let increment = ((i * (k + 3)) % 11 + k % 4 + 1) as f64;
            if resets.contains(&i) {
                value = if reset_to_zero { 0.0 } else { increment };
            } else if i > 0 {
                value += increment;
            }
            value
        })
        .collect()
}

/// `ms` as Unix seconds with millisecond decimals (`1700000000.123`), as query parameters.
pub fn unix_seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// `ms` as RFC 3339 in UTC (`2024-02-29T00:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

/// GET with query parameters, or POST with a form-encoded body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

/// One call of the query API: a path and its parameters.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// `/api/v1/query` or `/api/v1/query_range`.
    pub path: &'static str,
    pub params: Vec<(String, String)>,
    pub method: HttpMethod,
}

impl ApiRequest {
    /// `/api/v1/query` of `expr` at `time_ms`, by GET.
    pub fn instant(expr: &str, time_ms: i64) -> Self {
        Self {
            path: "/api/v1/query",
            params: vec![
                ("query".to_owned(), expr.to_owned()),
                ("time".to_owned(), unix_seconds(time_ms)),
            ],
            method: HttpMethod::Get,
        }
    }

    /// `/api/v1/query_range` of `expr` from `start_ms` to `end_ms` every `step`, by GET.
    pub fn range(expr: &str, start_ms: i64, end_ms: i64, step: &str) -> Self {
        Self {
            path: "/api/v1/query_range",
            params: vec![
                ("query".to_owned(), expr.to_owned()),
                ("start".to_owned(), unix_seconds(start_ms)),
                ("end".to_owned(), unix_seconds(end_ms)),
                ("step".to_owned(), step.to_owned()),
            ],
            method: HttpMethod::Get,
        }
    }
}

/// A sample as the API returns it, timestamp in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub t_ms: i64,
    pub v: f64,
}

/// One element of an instant vector.
#[derive(Clone, Debug)]
pub struct VectorSample {
    pub labels: Labels,
    pub point: Point,
}

/// One series of a range query's matrix.
#[derive(Clone, Debug)]
pub struct MatrixSeries {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// A successful answer's `data`.
#[derive(Clone, Debug)]
pub enum ResultData {
    Vector(Vec<VectorSample>),
    Matrix(Vec<MatrixSeries>),
    Scalar(Point),
    String { t_ms: i64, value: String },
}

impl ResultData {
    pub fn result_type(&self) -> &'static str {
        match self {
            ResultData::Vector(_) => "vector",
            ResultData::Matrix(_) => "matrix",
            ResultData::Scalar(_) => "scalar",
            ResultData::String { .. } => "string",
        }
    }

    /// Whether the result holds no sample (an empty vector or matrix).
    pub fn is_empty(&self) -> bool {
        match self {
            ResultData::Vector(v) => v.is_empty(),
            ResultData::Matrix(m) => m.is_empty(),
            ResultData::Scalar(_) | ResultData::String { .. } => false,
        }
    }
}

/// What a server answered.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// `"status":"success"` with HTTP 200.
    Data(ResultData),
    /// `"status":"error"`.
    Error {
        http_status: u16,
        error_type: String,
        error: String,
    },
    /// No answer, or not Prometheus's JSON.
    Malformed {
        http_status: u16,
        problem: String,
        body: String,
    },
}

/// A client for the query API, usable against any base URL (`http://host:port`).
#[derive(Clone, Debug)]
pub struct QueryClient {
    http: reqwest::Client,
}

impl QueryClient {
    pub fn new() -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { http })
    }

    /// Sends `request` to `base`; a transport failure becomes [`Outcome::Malformed`] with
    /// HTTP status 0, so one unreachable answer is a mismatch, not the end of the suite.
    pub async fn call(&self, base: &str, request: &ApiRequest) -> Outcome {
        let url = format!("{base}{}", request.path);
        let builder = match request.method {
            HttpMethod::Get => self.http.get(&url).query(&request.params),
            HttpMethod::Post => self.http.post(&url).form(&request.params),
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Malformed {
                    http_status: 0,
                    problem: format!("no answer from {url}: {e}"),
                    body: String::new(),
                }
            }
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(body) => parse_outcome(status, &body),
            Err(e) => Outcome::Malformed {
                http_status: status,
                problem: format!("reading the body from {url}: {e}"),
                body: String::new(),
            },
        }
    }
}

/// Reads an API answer; anything that is not Prometheus's JSON shape is
/// [`Outcome::Malformed`].
pub fn parse_outcome(http_status: u16, body: &[u8]) -> Outcome {
    let malformed = |problem: String| Outcome::Malformed {
        http_status,
        problem,
        body: abbreviate(&String::from_utf8_lossy(body), 300),
    };
    let json: Value = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(e) => return malformed(format!("not JSON: {e}")),
    };
    match json.get("status").and_then(Value::as_str) {
        Some("success") => {
            if http_status != 200 {
                return malformed(format!("status success with HTTP {http_status}"));
            }
            match json.get("data").map(parse_data) {
                Some(Ok(data)) => Outcome::Data(data),
                Some(Err(e)) => malformed(format!("{e:#}")),
                None => malformed("status success without data".to_owned()),
            }
        }
        Some("error") => Outcome::Error {
            http_status,
            error_type: json
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("<no errorType>")
                .to_owned(),
            error: json
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("<no error>")
                .to_owned(),
        },
        _ => malformed("status is neither \"success\" nor \"error\"".to_owned()),
    }
}

fn parse_data(data: &Value) -> Result<ResultData> {
    let result_type = data
        .get("resultType")
        .and_then(Value::as_str)
        .context("data without a string resultType")?;
    let result = data.get("result").context("data without result")?;
    match result_type {
        "vector" => result
            .as_array()
            .context("a vector result that is not an array")?
            .iter()
            .map(|element| {
                Ok(VectorSample {
                    labels: parse_labels(element.get("metric"))?,
                    point: parse_point(element.get("value").context("an element without value")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(ResultData::Vector),
        "matrix" => result
            .as_array()
            .context("a matrix result that is not an array")?
            .iter()
            .map(|series| {
                let points = series
                    .get("values")
                    .and_then(Value::as_array)
                    .context("a series without a values array")?
                    .iter()
                    .map(parse_point)
                    .collect::<Result<Vec<_>>>()?;
                Ok(MatrixSeries {
                    labels: parse_labels(series.get("metric"))?,
                    points,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(ResultData::Matrix),
        "scalar" => Ok(ResultData::Scalar(parse_point(result)?)),
        "string" => {
            let pair = result
                .as_array()
                .context("a string result that is not an array")?;
            ensure!(
                pair.len() == 2,
                "a string result of {} elements",
                pair.len()
            );
            let value = pair[1]
                .as_str()
                .context("a string result whose value is not a string")?;
            Ok(ResultData::String {
                t_ms: parse_timestamp(&pair[0])?,
                value: value.to_owned(),
            })
        }
        other => bail!("unknown resultType {other:?}"),
    }
}

fn parse_labels(metric: Option<&Value>) -> Result<Labels> {
    metric
        .and_then(Value::as_object)
        .context("an element without a metric object")?
        .iter()
        .map(|(name, value)| {
            let value = value
                .as_str()
                .with_context(|| format!("label {name} is not a string"))?;
            Ok((name.clone(), value.to_owned()))
        })
        .collect()
}

fn parse_point(point: &Value) -> Result<Point> {
    let pair = point
        .as_array()
        .context("a sample that is not a [time, value] array")?;
    ensure!(pair.len() == 2, "a sample of {} elements", pair.len());
    let text = pair[1]
        .as_str()
        .context("a sample value that is not a string")?;
    Ok(Point {
        t_ms: parse_timestamp(&pair[0])?,
        v: crate::promql::parse_value(text)?,
    })
}

/// Timestamps are Unix seconds as a JSON number with millisecond decimals.
fn parse_timestamp(t: &Value) -> Result<i64> {
    let seconds = t.as_f64().context("a timestamp that is not a number")?;
    Ok((seconds * 1000.0).round() as i64)
}

/// Whether two sample values are equal for the suite.
pub fn values_match(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let diff = (a - b).abs();
    diff <= RELATIVE_TOLERANCE * a.abs().max(b.abs()) || diff <= ABSOLUTE_FLOOR
}

fn points_match(a: Point, b: Point) -> bool {
    a.t_ms == b.t_ms && values_match(a.v, b.v)
}

/// What order of an instant vector is significant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// None: compared as sets.
    Unordered,
    /// The sequence of values (`sort`, `sort_desc`); ties may list their series in any order.
    ByValue,
}

/// How many examples of one kind of difference are listed.
const EXAMPLES: usize = 3;

/// The differences between Prometheus's answer and Skyview's (empty when they match).
pub fn compare(prometheus: &Outcome, skyview: &Outcome, order: Order) -> Vec<String> {
    match (prometheus, skyview) {
        (Outcome::Data(p), Outcome::Data(s)) => compare_data(p, s, order),
        (
            Outcome::Error {
                http_status: p_status,
                error_type: p_type,
                ..
            },
            Outcome::Error {
                http_status: s_status,
                error_type: s_type,
                ..
            },
        ) => {
            let mut differences = Vec::new();
            if p_type != s_type {
                differences.push(format!(
                    "errorType: Prometheus {p_type:?}, Skyview {s_type:?}"
                ));
            }
            if p_status != s_status {
                differences.push(format!(
                    "HTTP status of the error: Prometheus {p_status}, Skyview {s_status}"
                ));
            }
            differences
        }
        _ => vec![format!(
            "outcome: Prometheus {}, Skyview {}",
            kind(prometheus),
            kind(skyview)
        )],
    }
}

fn kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Data(data) => format!("success ({})", data.result_type()),
        Outcome::Error {
            http_status,
            error_type,
            ..
        } => format!("error {error_type} (HTTP {http_status})"),
        Outcome::Malformed {
            http_status,
            problem,
            ..
        } => format!("a malformed answer (HTTP {http_status}: {problem})"),
    }
}

fn compare_data(p: &ResultData, s: &ResultData, order: Order) -> Vec<String> {
    match (p, s) {
        (ResultData::Vector(p), ResultData::Vector(s)) => compare_vectors(p, s, order),
        (ResultData::Matrix(p), ResultData::Matrix(s)) => compare_matrices(p, s),
        (ResultData::Scalar(p), ResultData::Scalar(s)) => {
            if points_match(*p, *s) {
                Vec::new()
            } else {
                vec![format!(
                    "scalar: Prometheus {}, Skyview {}",
                    point_text(*p),
                    point_text(*s)
                )]
            }
        }
        (
            ResultData::String {
                t_ms: pt,
                value: pv,
            },
            ResultData::String {
                t_ms: st,
                value: sv,
            },
        ) => {
            if pt == st && pv == sv {
                Vec::new()
            } else {
                vec![format!(
                    "string: Prometheus {pv:?}@{pt}, Skyview {sv:?}@{st}"
                )]
            }
        }
        _ => vec![format!(
            "resultType: Prometheus {}, Skyview {}",
            p.result_type(),
            s.result_type()
        )],
    }
}

/// Keys a result by label set, reporting duplicates (which Prometheus never returns).
fn by_labels<'a, T>(
    side: &str,
    items: impl Iterator<Item = (&'a Labels, T)>,
    differences: &mut Vec<String>,
) -> BTreeMap<&'a Labels, T> {
    let mut map = BTreeMap::new();
    for (labels, item) in items {
        if map.insert(labels, item).is_some() {
            differences.push(format!(
                "{side} returns the label set {} more than once",
                labels_text(labels)
            ));
        }
    }
    map
}

fn compare_sets<T>(
    p: &BTreeMap<&Labels, T>,
    s: &BTreeMap<&Labels, T>,
    differences: &mut Vec<String>,
) {
    let only_p: Vec<&&Labels> = p.keys().filter(|l| !s.contains_key(*l)).collect();
    let only_s: Vec<&&Labels> = s.keys().filter(|l| !p.contains_key(*l)).collect();
    for (side, only) in [("Prometheus", only_p), ("Skyview", only_s)] {
        if !only.is_empty() {
            let examples: Vec<String> =
                only.iter().take(EXAMPLES).map(|l| labels_text(l)).collect();
            differences.push(format!(
                "{} series only in {side}'s answer, e.g. {}",
                only.len(),
                examples.join(", ")
            ));
        }
    }
}

fn compare_vectors(p: &[VectorSample], s: &[VectorSample], order: Order) -> Vec<String> {
    let mut differences = Vec::new();
    let p_map = by_labels(
        "Prometheus",
        p.iter().map(|e| (&e.labels, e.point)),
        &mut differences,
    );
    let s_map = by_labels(
        "Skyview",
        s.iter().map(|e| (&e.labels, e.point)),
        &mut differences,
    );
    compare_sets(&p_map, &s_map, &mut differences);
    let unequal: Vec<String> = p_map
        .iter()
        .filter_map(|(labels, &pp)| {
            let &sp = s_map.get(labels)?;
            (!points_match(pp, sp)).then(|| {
                format!(
                    "{}: Prometheus {}, Skyview {}",
                    labels_text(labels),
                    point_text(pp),
                    point_text(sp)
                )
            })
        })
        .collect();
    if !unequal.is_empty() {
        differences.push(format!(
            "{} samples differ, e.g. {}",
            unequal.len(),
            unequal
                .iter()
                .take(EXAMPLES)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if order == Order::ByValue && differences.is_empty() {
        let in_order = p.len() == s.len()
            && p.iter()
                .zip(s)
                .all(|(a, b)| values_match(a.point.v, b.point.v));
        if !in_order {
            let values = |v: &[VectorSample]| {
                v.iter()
                    .take(8)
                    .map(|e| e.point.v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            differences.push(format!(
                "order of values: Prometheus [{}], Skyview [{}]",
                values(p),
                values(s)
            ));
        }
    }
    differences
}

fn compare_matrices(p: &[MatrixSeries], s: &[MatrixSeries]) -> Vec<String> {
    let mut differences = Vec::new();
    let p_map = by_labels(
        "Prometheus",
        p.iter().map(|e| (&e.labels, e.points.as_slice())),
        &mut differences,
    );
    let s_map = by_labels(
        "Skyview",
        s.iter().map(|e| (&e.labels, e.points.as_slice())),
        &mut differences,
    );
    compare_sets(&p_map, &s_map, &mut differences);
    let mut unequal = Vec::new();
    for (labels, pp) in &p_map {
        let Some(sp) = s_map.get(labels) else {
            continue;
        };
        if let Some(problem) = first_point_difference(pp, sp) {
            unequal.push(format!("{}: {problem}", labels_text(labels)));
        }
    }
    if !unequal.is_empty() {
        differences.push(format!(
            "{} series differ, e.g. {}",
            unequal.len(),
            unequal
                .iter()
                .take(EXAMPLES)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    differences
}

fn first_point_difference(p: &[Point], s: &[Point]) -> Option<String> {
    for (i, (&a, &b)) in p.iter().zip(s).enumerate() {
        if !points_match(a, b) {
            return Some(format!(
                "point {i}: Prometheus {}, Skyview {} ({} vs {} points)",
                point_text(a),
                point_text(b),
                p.len(),
                s.len()
            ));
        }
    }
    if p.len() != s.len() {
        let next = |v: &[Point]| {
            v.get(p.len().min(s.len()))
                .map_or_else(|| "-".to_owned(), |x| point_text(*x))
        };
        return Some(format!(
            "{} points from Prometheus, {} from Skyview (first extra: Prometheus {}, Skyview {})",
            p.len(),
            s.len(),
            next(p),
            next(s)
        ));
    }
    None
}

fn point_text(p: Point) -> String {
    format!("{}@{}", p.v, unix_seconds(p.t_ms))
}

pub fn labels_text(labels: &Labels) -> String {
    let mut text = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "{name}={value:?}");
    }
    text.push('}');
    text
}

/// A short description of an answer, for a mismatch report.
pub fn summary(outcome: &Outcome) -> String {
    let text = match outcome {
        Outcome::Data(ResultData::Vector(v)) => {
            let mut text = format!("vector of {}:", v.len());
            for e in v.iter().take(EXAMPLES) {
                let _ = write!(text, " {} {};", labels_text(&e.labels), point_text(e.point));
            }
            text
        }
        Outcome::Data(ResultData::Matrix(m)) => {
            let mut text = format!("matrix of {}:", m.len());
            for e in m.iter().take(EXAMPLES) {
                let first = e
                    .points
                    .first()
                    .map_or_else(String::new, |p| point_text(*p));
                let _ = write!(
                    text,
                    " {} {} points from {first};",
                    labels_text(&e.labels),
                    e.points.len()
                );
            }
            text
        }
        Outcome::Data(ResultData::Scalar(p)) => format!("scalar {}", point_text(*p)),
        Outcome::Data(ResultData::String { t_ms, value }) => {
            format!("string {value:?}@{}", unix_seconds(*t_ms))
        }
        Outcome::Error {
            http_status,
            error_type,
            error,
        } => format!("HTTP {http_status} {error_type}: {error}"),
        Outcome::Malformed {
            http_status,
            problem,
            body,
        } => format!("HTTP {http_status}, {problem}: {body}"),
    };
    abbreviate(&text, 400)
}

fn abbreviate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_set_is_in_time_order_and_every_sample_is_written_once() {
        let data = DataSet::ending_at(1_700_000_000_000);
        for s in data.series() {
            assert!(
                s.samples.windows(2).all(|w| w[0].0 < w[1].0),
                "{:?}",
                s.labels
            );
        }
        let requests = data.requests(10);
        let written: usize = requests
            .iter()
            .flat_map(|r| &r.timeseries)
            .map(|s| s.samples.len())
            .sum();
        assert_eq!(written, data.sample_count());
        assert!(
            (80..=200).contains(&data.series_count()),
            "{}",
            data.series_count()
        );
        let stale = data
            .series()
            .iter()
            .flat_map(|s| &s.samples)
            .filter(|(_, v)| v.to_bits() == stale_nan().to_bits())
            .count();
        assert_eq!(stale, 6);
    }

    #[test]
    fn formats_times() {
        assert_eq!(unix_seconds(1_700_000_000_005), "1700000000.005");
        assert_eq!(rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_672_531_199_250), "2022-12-31T23:59:59.250Z");
    }

    #[test]
    fn compares_values() {
        assert!(values_match(f64::NAN, f64::NAN));
        assert!(values_match(f64::INFINITY, f64::INFINITY));
        assert!(!values_match(f64::INFINITY, f64::NEG_INFINITY));
        assert!(values_match(1.0, 1.0 + 1e-12));
        assert!(!values_match(1.0, 1.0 + 1e-6));
        assert!(!values_match(0.0, f64::NAN));
    }

    #[test]
    fn compares_errors_by_type_and_status_only() {
        let p = parse_outcome(
            400,
            br#"{"status":"error","errorType":"bad_data","error":"parse error at 1:4"}"#,
        );
        let s = parse_outcome(
            400,
            br#"{"status":"error","errorType":"bad_data","error":"unexpected end"}"#,
        );
        assert!(compare(&p, &s, Order::Unordered).is_empty());
        let e = parse_outcome(
            422,
            br#"{"status":"error","errorType":"execution","error":"many-to-many"}"#,
        );
        assert_eq!(compare(&p, &e, Order::Unordered).len(), 2);
    }

    #[test]
    fn compares_vectors_as_sets_and_sorted_vectors_by_value() {
        let a = parse_outcome(
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"a":"1"},"value":[1.5,"1"]},{"metric":{"a":"2"},"value":[1.5,"NaN"]}]}}"#,
        );
        let b = parse_outcome(
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"a":"2"},"value":[1.5,"NaN"]},{"metric":{"a":"1"},"value":[1.5,"1.0000000000001"]}]}}"#,
        );
        assert!(compare(&a, &b, Order::Unordered).is_empty());
        assert_eq!(compare(&a, &b, Order::ByValue).len(), 1);
        let c = parse_outcome(
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"a":"1"},"value":[1.5,"inf"]}]}}"#,
        );
        assert!(matches!(c, Outcome::Malformed { .. }), "{c:?}");
    }

    #[test]
    fn compares_matrices_point_by_point() {
        let a = parse_outcome(
            200,
            br#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[1,"1"],[2,"2"]]}]}}"#,
        );
        let b = parse_outcome(
            200,
            br#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[1,"1"],[2,"2"],[3,"3"]]}]}}"#,
        );
        assert!(compare(&a, &a, Order::Unordered).is_empty());
        assert_eq!(compare(&a, &b, Order::Unordered).len(), 1);
    }
}
