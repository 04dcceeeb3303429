//! The timed queries, the warm-up that also compares the two systems' answers, and the timed
//! rounds.
//!
//! A call is timed from just before the request is sent to the last byte of the body received,
//! with a plain HTTP client; the answer is parsed (and checked to be data) only after the clock
//! stopped, so the client's JSON decoding of a large matrix is not counted for either system.
//! By default no `Accept-Encoding` is sent, so neither system compresses: the figure is the
//! query engine and its JSON encoding. `--gzip` asks for gzip as Grafana does; whichever
//! system compresses then pays for it, and the client's decompression is inside the clock.
//!
//! Each round runs every query once on each system, one call at a time; which system goes
//! first alternates from round to round, so neither always runs second, on caches the other
//! just warmed. Skyview's calls go to its nodes in turn.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use skyview_tests::promql_compat::{
    compare, parse_outcome, summary, ApiRequest, HttpMethod, Order, Outcome, ResultData,
};

/// The expressions of the benchmark, each run as a `query_range` over the whole data window.
pub const EXPRESSIONS: &[&str] = &[
    "sum by (job) (rate(http_requests_total[5m]))",
    "rate(http_requests_total[5m])",
    "histogram_quantile(0.99, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "topk(5, rate(http_requests_total[5m]))",
    "sum by (team) (rate(http_requests_total[5m]) * on(instance) group_left(team) instance_info)",
    "sum by (cluster, code) (increase(http_requests_total[1h]))",
];

/// One timed query.
#[derive(Clone, Debug)]
pub struct Query {
    pub expr: &'static str,
    pub request: ApiRequest,
}

/// Every expression of [`EXPRESSIONS`] as a range query from `start_ms` to `end_ms` every
/// `step` (a Prometheus duration or a number of seconds, passed as is).
pub fn range_queries(start_ms: i64, end_ms: i64, step: &str) -> Vec<Query> {
    EXPRESSIONS
        .iter()
        .map(|&expr| Query {
            expr,
            request: ApiRequest::range(expr, start_ms, end_ms, step),
        })
        .collect()
}

/// The systems' base URLs.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub prometheus: String,
    /// Every Skyview node.
    pub skyview: Vec<String>,
}

impl Endpoints {
    /// The Skyview node for the `call`-th call.
    fn skyview(&self, call: usize) -> &str {
        &self.skyview[call % self.skyview.len()]
    }
}

/// A client that times query API calls; see the module documentation.
#[derive(Clone, Debug)]
pub struct Timer {
    http: reqwest::Client,
}

impl Timer {
    /// `gzip`: whether to ask for compressed answers.
    pub fn new(gzip: bool) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .gzip(gzip)
            .build()?;
        Ok(Self { http })
    }

    /// Sends `request` to `base`: the time until the whole body arrived, and the answer.
    pub async fn call(&self, base: &str, request: &ApiRequest) -> Result<(Duration, Outcome)> {
        let url = format!("{base}{}", request.path);
        let builder = match request.method {
            HttpMethod::Get => self.http.get(&url).query(&request.params),
            HttpMethod::Post => self.http.post(&url).form(&request.params),
        };
        let start = Instant::now();
        let response = builder
            .send()
            .await
            .with_context(|| format!("{:?} {url}", request.method))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("reading the answer of {url}"))?;
        let elapsed = start.elapsed();
        Ok((elapsed, parse_outcome(status, &body)))
    }

    /// Like [`Self::call`], failing unless the answer is data.
    async fn time_data(&self, system: &str, base: &str, request: &ApiRequest) -> Result<Duration> {
        let (elapsed, outcome) = self.call(base, request).await?;
        match outcome {
            Outcome::Data(_) => Ok(elapsed),
            other => bail!("{system} at {base} answered {}", summary(&other)),
        }
    }
}

/// Runs every query once on both systems, failing unless both answer data, and reports the
/// differences of their answers to stderr. Returns the number of queries whose answers are
/// equal.
pub async fn warm_up(timer: &Timer, endpoints: &Endpoints, queries: &[Query]) -> Result<usize> {
    let mut equal = 0;
    for (q, Query { expr, request }) in queries.iter().enumerate() {
        let (p_time, prometheus) = timer.call(&endpoints.prometheus, request).await?;
        let (s_time, skyview) = timer.call(endpoints.skyview(q), request).await?;
        for (system, outcome) in [("Prometheus", &prometheus), ("Skyview", &skyview)] {
            if !matches!(outcome, Outcome::Data(_)) {
                bail!("{system} cannot run `{expr}`: {}", summary(outcome));
            }
        }
        let differences = compare(&prometheus, &skyview, Order::Unordered);
        eprintln!(
            "warm-up `{expr}`: {}; Prometheus {:.1} ms, Skyview {:.1} ms; {}",
            size(&prometheus),
            p_time.as_secs_f64() * 1e3,
            s_time.as_secs_f64() * 1e3,
            if differences.is_empty() {
                "answers equal".to_owned()
            } else {
                format!("{} differences", differences.len())
            }
        );
        for difference in &differences {
            eprintln!("  - {difference}");
        }
        equal += usize::from(differences.is_empty());
    }
    Ok(equal)
}

/// The series and points of an answer, e.g. `matrix of 10000 series, 610000 points`.
fn size(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Data(ResultData::Matrix(m)) => format!(
            "matrix of {} series, {} points",
            m.len(),
            m.iter().map(|s| s.points.len()).sum::<usize>()
        ),
        other => summary(other),
    }
}

/// Latencies per query (in the order of the queries), one per round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latencies {
    pub prometheus: Vec<Vec<Duration>>,
    pub skyview: Vec<Vec<Duration>>,
}

/// Runs `rounds` timed rounds; see the module documentation.
pub async fn time_rounds(
    timer: &Timer,
    endpoints: &Endpoints,
    queries: &[Query],
    rounds: usize,
) -> Result<Latencies> {
    let mut latencies = Latencies {
        prometheus: vec![Vec::with_capacity(rounds); queries.len()],
        skyview: vec![Vec::with_capacity(rounds); queries.len()],
    };
    for round in 0..rounds {
        for (q, Query { expr, request }) in queries.iter().enumerate() {
            let skyview = endpoints.skyview(round * queries.len() + q);
            let what = || format!("round {round}, `{expr}`");
            let time_prometheus = || timer.time_data("Prometheus", &endpoints.prometheus, request);
            let time_skyview = || timer.time_data("Skyview", skyview, request);
            let (p, s) = if round % 2 == 0 {
                let p = time_prometheus().await.with_context(what)?;
                (p, time_skyview().await.with_context(what)?)
            } else {
                let s = time_skyview().await.with_context(what)?;
                (time_prometheus().await.with_context(what)?, s)
            };
            latencies.prometheus[q].push(p);
            latencies.skyview[q].push(s);
        }
        eprintln!("round {} of {rounds} timed", round + 1);
    }
    Ok(latencies)
}
