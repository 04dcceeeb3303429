//! `bench-query`: the performance brief's query workload. A real Prometheus 2.42 and a Skyview
//! cluster get the same data, and then the same `query_range` queries, side by side in one
//! run; the report gives each system's p50 and p99 per query and Skyview's ratios against
//! Prometheus, measured against the bar `p50 <= 1.0x Prometheus`.
//!
//! Run it with (one release build of every binary, so RocksDB builds once; Prometheus comes
//! from Debian's `prometheus` package):
//!
//! ```text
//! cargo build --release --workspace --bins
//! target/release/bench-query --series 10000 --hours 1
//! ```
//!
//! `BENCH_KEEP_DIR=1` keeps the run directory (both systems' data and logs); a failed run
//! always keeps it.
//!
//! Method (to go into docs/benchmarks.md next to the first results):
//! - Both systems start on empty data directories: Prometheus as a remote-write receiver,
//!   Skyview as `--nodes` receiver processes with `--shards` shards and RF `--rf`.
//! - The data set ([`data`]) ends a minute ago. Its remote-write bodies are encoded once and
//!   each is posted to both systems, oldest first ([`load`]). Before anything is timed, both
//!   must give every series and sample back through their own query API ([`check`]).
//! - Warm-up: every query runs once on each system; the answers are compared (Prometheus's is
//!   the reference, as in the PromQL compatibility suite) and any difference is printed. A
//!   difference does not stop the run, but the report says how many queries answered equally.
//! - Timing ([`queries`]): `--repeats` rounds; in each, every query runs once on Prometheus
//!   and once on Skyview, one call at a time, the first system alternating by round. A call is
//!   timed from sending the request to receiving the whole body; anything but data fails the
//!   run. p50 and p99 are nearest-rank ([`stats`]). The CPU time of each system's processes
//!   over the timed rounds is reported as well.

mod check;
mod data;
mod load;
mod queries;
mod report;
mod stats;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use skyview_tests::peers::{peer_binary, Prometheus};
use skyview_tests::proc_stats::read_proc_stats;
use skyview_tests::promql_compat::QueryClient;
use skyview_tests::receiver::{ReceiverCluster, ReceiverOptions};
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient};
use skyview_tests::skyview::skyview_binary;

use crate::check::{expectations, wait_for_data};
use crate::data::{DataSet, SLOTS_PER_HOUR};
use crate::load::{load_both, Batching};
use crate::queries::{range_queries, time_rounds, warm_up, Endpoints, Timer};
use crate::report::{CpuFigure, Report, Row};
use crate::stats::{Comparison, Latency};

/// The data ends this long before the run starts, so no sample is in the future.
const DATA_ENDS_AGO_MS: i64 = 60_000;

#[derive(Debug, Parser)]
#[command(about = "Query latency (p50, p99) of Skyview against Prometheus on the same data")]
struct Args {
    /// Series of `http_requests_total` (the histograms add 1,000 series, `instance_info` up to
    /// 250).
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Length of the data window in hours, one sample per series every 15 s.
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    /// The `step` of the range queries (a Prometheus duration or seconds).
    #[arg(long, default_value = "60s")]
    step: String,
    /// Timed rounds; each runs every query once on each system.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Skyview receiver nodes.
    #[arg(long, default_value_t = 1)]
    nodes: u64,
    /// Skyview shards.
    #[arg(long, default_value_t = 4)]
    shards: u32,
    /// Skyview replication factor.
    #[arg(long, default_value_t = 1)]
    rf: usize,
    /// Series per remote-write request.
    #[arg(long, default_value_t = 2_000)]
    series_per_request: usize,
    /// Samples per series per remote-write request (20 is 5 minutes).
    #[arg(long, default_value_t = 20)]
    samples_per_request: i64,
    /// Remote-write requests in flight at once while loading.
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// Ask both systems for gzip-compressed answers, as Grafana does.
    #[arg(long)]
    gzip: bool,
}

impl Args {
    fn validate(&self) -> Result<()> {
        ensure!(self.series > 0, "--series must be at least 1");
        ensure!(
            self.hours.is_finite() && self.samples_per_series() >= 2,
            "--hours must give at least two samples per series (15 s apart)"
        );
        ensure!(self.repeats > 0, "--repeats must be at least 1");
        ensure!(
            self.nodes > 0 && (1..=self.nodes as usize).contains(&self.rf),
            "--nodes must be at least 1 and --rf between 1 and --nodes"
        );
        ensure!(
            self.series_per_request > 0 && self.samples_per_request > 0 && self.in_flight > 0,
            "--series-per-request, --samples-per-request and --in-flight must be at least 1"
        );
        Ok(())
    }

    fn samples_per_series(&self) -> i64 {
        (self.hours * SLOTS_PER_HOUR as f64).round() as i64 + 1
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run_dir = tempfile::Builder::new().prefix("bench-query-").tempdir()?;
    eprintln!("bench-query: logs and data in {}", run_dir.path().display());
    let outcome = run(&args, run_dir.path()).await;
    // Keep the logs when asked to (or when the run failed), for profiles and post-mortems.
    if std::env::var_os("BENCH_KEEP_DIR").is_some() || outcome.is_err() {
        eprintln!("kept {}", run_dir.keep().display());
    }
    outcome
}

async fn run(args: &Args, run_dir: &Path) -> Result<()> {
    args.validate()?;
    // A missing peer or binary fails here, saying how to get it, before anything starts.
    peer_binary("prometheus")?;
    skyview_binary()?;
    let data = Arc::new(DataSet::new(
        args.series,
        args.samples_per_series(),
        now_ms() - DATA_ENDS_AGO_MS,
    ));
    let prometheus_dir = run_dir.join("prometheus");
    let skyview_dir = run_dir.join("skyview");
    for dir in [&prometheus_dir, &skyview_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (mut prometheus, mut cluster) = tokio::try_join!(
        Prometheus::start_receiver(&prometheus_dir),
        ReceiverCluster::start_in(
            &skyview_dir,
            ReceiverOptions::new(args.nodes, args.shards, args.rf)
        )
    )?;
    let endpoints = Endpoints {
        prometheus: prometheus.peer.url(""),
        skyview: cluster.urls(),
    };

    let batching = Batching {
        series_per_request: args.series_per_request,
        slots_per_request: args.samples_per_request,
    };
    let writer = RemoteWriteClient::new()?;
    let loaded = load_both(
        &writer,
        &data,
        (&endpoints.prometheus, &endpoints.skyview),
        batching,
        args.in_flight,
    )
    .await?;
    ensure!(
        loaded.samples == data.sample_count(),
        "sent {} samples of the data set's {}",
        loaded.samples,
        data.sample_count()
    );
    eprintln!(
        "loaded {} series, {} samples in {} requests into both in {:.1} s ({} retries)",
        data.series_count(),
        loaded.samples,
        loaded.requests,
        loaded.elapsed.as_secs_f64(),
        loaded.retries
    );
    let expected = expectations(&data);
    let counter = QueryClient::new()?;
    tokio::try_join!(
        wait_for_data(&counter, "Prometheus", &endpoints.prometheus, &expected),
        wait_for_data(&counter, "Skyview", &endpoints.skyview[0], &expected)
    )?;

    let prometheus_pids: Vec<u32> = prometheus.peer.pid().into_iter().collect();
    let skyview_pids: Vec<u32> = cluster
        .node_ids()
        .into_iter()
        .filter_map(|node| cluster.pid(node))
        .collect();
    let report = measure(args, &data, &endpoints, [prometheus_pids, skyview_pids]).await?;
    println!("\n{}", report.markdown());

    for node in cluster.node_ids() {
        cluster.stop(node).await?;
    }
    prometheus.peer.stop().await?;
    Ok(())
}

/// Warms up and times the queries on both loaded systems, whose processes are `pids`
/// (Prometheus's, then Skyview's).
async fn measure(
    args: &Args,
    data: &DataSet,
    endpoints: &Endpoints,
    pids: [Vec<u32>; 2],
) -> Result<Report> {
    let queries = range_queries(data.start_ms(), data.end_ms(), &args.step);
    let timer = Timer::new(args.gzip)?;
    let answers_equal = warm_up(&timer, endpoints, &queries).await?;
    let cpu_before = [cpu_seconds(&pids[0])?, cpu_seconds(&pids[1])?];
    let started = Instant::now();
    let latencies = time_rounds(&timer, endpoints, &queries, args.repeats).await?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu = CpuFigure {
        wall_seconds,
        prometheus: cpu_seconds(&pids[0])? - cpu_before[0],
        skyview: cpu_seconds(&pids[1])? - cpu_before[1],
    };

    let mut rows = Vec::new();
    for (q, query) in queries.iter().enumerate() {
        let (Some(prometheus), Some(skyview)) = (
            Latency::of(&latencies.prometheus[q]),
            Latency::of(&latencies.skyview[q]),
        ) else {
            bail!("no latency measured for `{}`", query.expr);
        };
        rows.push(Row {
            expr: query.expr.to_owned(),
            comparison: Comparison {
                prometheus,
                skyview,
            },
        });
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let heading = format!(
        "Query latency: {} `http_requests_total` series, {} histogram series and {} \
         `instance_info` series, one sample every 15 s for {} h ({} samples); `query_range` \
         over the whole window at step {}; {} rounds{}; Skyview {} node(s), {} shards, RF {}; \
         {cores} cores",
        data.counters(),
        data.histogram_series(),
        data.instances(),
        args.hours,
        data.sample_count(),
        args.step,
        args.repeats,
        if args.gzip { ", gzip" } else { "" },
        args.nodes,
        args.shards,
        args.rf,
    );
    Ok(Report {
        heading,
        rows,
        answers_equal,
        cpu,
    })
}

/// CPU-seconds (user + system) of the processes `pids` so far.
fn cpu_seconds(pids: &[u32]) -> Result<f64> {
    if pids.is_empty() {
        bail!("a system under test is not running");
    }
    pids.iter()
        .map(|&pid| read_proc_stats(pid).map(|s| s.cpu_seconds))
        .sum()
}
