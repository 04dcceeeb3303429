//! `bench-ingest`: the performance brief's ingest workload driven at Prometheus 2.42,
//! VictoriaMetrics 1.79, a single-node RF=1 Skyview and a 3-node RF=3 Skyview, side by side in
//! one run; and, with `--failover`, the failover measurement on a 3-node RF=3 Skyview.
//!
//! Run it with (one release build of every binary, so RocksDB builds once):
//!
//! ```text
//! cargo build --release --workspace --bins
//! target/release/bench-ingest --series 100000 --rounds 40
//! target/release/bench-ingest --failover --failover-trials 20
//! ```
//!
//! `--series 10000 --rounds 1000` gives the brief's storage workload (bytes per sample after
//! flush), since the disk figure is measured after every phase.
//!
//! Method (docs/benchmarks.md repeats it next to the results):
//! - Every request body (remote write 1.0, snappy) is encoded before any system starts, and
//!   every system receives the very same bytes: the client's work while the clock runs is
//!   copying bytes to sockets. Its CPU is not counted, but it runs on the same cores.
//! - The systems run one after another, never concurrently, each on an empty data directory.
//! - A phase: start the system, read the CPU time of its processes, send every request
//!   (`--in-flight` at once, spread over a cluster's nodes, a series' next request only after
//!   its previous one was acknowledged), read the CPU time and peak RSS (`VmHWM`) again, count
//!   the stored samples through the system's query API, then flush the system and measure its
//!   disk (see [`system`]).
//! - samples/s = samples sent / time from the first request to the last acknowledgement.

mod count;
mod disk;
mod failover;
mod load;
mod prometheus;
mod report;
mod skyview;
mod system;
mod victoria;
mod workload;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bytes::Bytes;
use clap::Parser;
use skyview_tests::proc_stats::read_proc_stats;
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient};

use crate::count::SentRange;
use crate::failover::FailoverOptions;
use crate::load::{send_all, LoadPlan};
use crate::report::{bar_lines, disk_notes, ingest_table, PhaseResult};
use crate::system::{Running, SystemKind};
use crate::workload::{encoded_rounds, ROUND_INTERVAL_MS};

#[derive(Debug, Parser)]
#[command(
    about = "Ingest throughput, CPU, memory and disk of Skyview against Prometheus and VictoriaMetrics; or Skyview's failover"
)]
struct Args {
    /// Series in the workload (6 labels each, 50 metric names).
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Rounds: one sample per series each, 15 s apart in timestamp.
    #[arg(long, default_value_t = 40)]
    rounds: u64,
    /// Series per remote-write request.
    #[arg(long, default_value_t = 2_000)]
    series_per_request: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// Seed of the values (equal seeds give equal bodies).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Shards of the Skyview clusters.
    #[arg(long, default_value_t = 16)]
    shards: u32,
    /// Systems to drive, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "prometheus,victoria-metrics,skyview-rf1,skyview-rf3"
    )]
    systems: Vec<SystemKind>,
    /// Measure failover instead of ingest.
    #[arg(long)]
    failover: bool,
    /// Failover: kills, one per trial.
    #[arg(long, default_value_t = 5)]
    failover_trials: u32,
    /// Failover: series of the steady load.
    #[arg(long, default_value_t = 8_000)]
    failover_series: usize,
    /// Failover: sending queues (each owns series/queues series).
    #[arg(long, default_value_t = 8)]
    failover_queues: u32,
    /// Failover: each queue sends one round per period, in milliseconds.
    #[arg(long, default_value_t = 250)]
    failover_period_ms: u64,
    /// Failover: load time before each kill and after each recovery, in seconds.
    #[arg(long, default_value_t = 3.0)]
    failover_settle_s: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run_dir = tempfile::Builder::new().prefix("bench-ingest-").tempdir()?;
    eprintln!(
        "bench-ingest: logs and data in {}",
        run_dir.path().display()
    );
    let outcome = if args.failover {
        run_failover(&args, run_dir.path()).await
    } else {
        run_ingest(&args, run_dir.path()).await
    };
    // Keep the logs when asked to (or when the run failed), for profiles and post-mortems.
    if std::env::var_os("BENCH_KEEP_DIR").is_some() || outcome.is_err() {
        eprintln!("kept {}", run_dir.keep().display());
    }
    outcome
}

async fn run_ingest(args: &Args, run_dir: &Path) -> Result<()> {
    if args.in_flight == 0 || args.systems.is_empty() {
        bail!("--in-flight and --systems must not be empty");
    }
    // Every round lies in the past, the last one 15 s ago at most.
    let base_ms = (now_ms() - (args.rounds as i64 + 1) * ROUND_INTERVAL_MS) / 1000 * 1000;
    let range = SentRange {
        start_ms: base_ms,
        end_ms: base_ms + args.rounds as i64 * ROUND_INTERVAL_MS,
    };
    let started = Instant::now();
    let (bodies, per_round) = encoded_rounds(
        args.series,
        args.rounds,
        args.series_per_request,
        args.seed,
        base_ms,
    )?;
    let encoded: usize = bodies.iter().map(Bytes::len).sum();
    eprintln!(
        "encoded {} requests ({} per round, {:.1} MB) in {:.1} s",
        bodies.len(),
        per_round,
        encoded as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let client = RemoteWriteClient::new()?;
    let samples_sent = args.series as u64 * args.rounds;
    let load = IngestLoad {
        bodies,
        per_round,
        range,
        samples_sent,
    };
    let mut results = Vec::new();
    for &kind in &args.systems {
        let dir = run_dir.join(kind.name());
        std::fs::create_dir_all(&dir)?;
        let result = run_phase(kind, &dir, args, &client, &load).await?;
        eprintln!("{result:?}");
        results.push(result);
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let heading = format!(
        "Ingest: {} series x {} rounds = {} samples, {} series per request, {} in flight, {} cores",
        args.series, args.rounds, samples_sent, args.series_per_request, args.in_flight, cores
    );
    let table = ingest_table(&results);
    println!("\n{heading}\n");
    print!("{}", table.aligned());
    println!();
    for line in bar_lines(&results).iter().chain(&disk_notes(&results)) {
        println!("{line}");
    }
    println!("\nMarkdown for docs/benchmarks.md:\n\n```markdown\n{heading}\n");
    print!("{}", table.markdown());
    println!();
    for line in bar_lines(&results).iter().chain(&disk_notes(&results)) {
        println!("- {line}");
    }
    println!("```");
    Ok(())
}

/// The encoded workload every phase sends.
#[derive(Debug)]
struct IngestLoad {
    bodies: Vec<Bytes>,
    per_round: usize,
    range: SentRange,
    samples_sent: u64,
}

async fn run_phase(
    kind: SystemKind,
    dir: &Path,
    args: &Args,
    client: &RemoteWriteClient,
    load: &IngestLoad,
) -> Result<PhaseResult> {
    let mut running = Running::start(kind, dir, args.shards).await?;
    let pids = running.pids()?;
    eprintln!("{}: started (pids {pids:?}), sending", kind.name());
    let before = pids
        .iter()
        .map(|&p| read_proc_stats(p))
        .collect::<Result<Vec<_>>>()?;
    let plan = LoadPlan {
        endpoints: running.endpoints(),
        in_flight: args.in_flight,
        per_round: load.per_round,
    };
    let sent = send_all(client, &load.bodies, &plan).await?;
    let after = pids
        .iter()
        .map(|&p| read_proc_stats(p))
        .collect::<Result<Vec<_>>>()?;
    eprintln!(
        "{}: sent in {:.1} s; counting what it stored",
        kind.name(),
        sent.elapsed.as_secs_f64()
    );
    let samples_stored = running.stored_samples(client, load.range).await?;
    let disk = running.flush_and_measure_disk().await?;
    Ok(PhaseResult {
        system: kind.name().to_owned(),
        samples_sent: load.samples_sent,
        samples_stored,
        seconds: sent.elapsed.as_secs_f64(),
        retries: sent.retries,
        cpu_seconds: before
            .iter()
            .zip(&after)
            .map(|(b, a)| a.cpu_seconds - b.cpu_seconds)
            .sum(),
        peak_rss_bytes: after.iter().map(|a| a.peak_rss_bytes).collect(),
        disk: Some(disk),
    })
}

async fn run_failover(args: &Args, run_dir: &Path) -> Result<()> {
    let options = FailoverOptions {
        shards: args.shards,
        series: args.failover_series,
        queues: args.failover_queues,
        period: Duration::from_millis(args.failover_period_ms),
        trials: args.failover_trials,
        settle: Duration::from_secs_f64(args.failover_settle_s),
        seed: args.seed,
    };
    let result = failover::run(run_dir, &options).await?;
    let heading = format!(
        "Failover: 3 nodes, RF=3, {} shards; {} series in {} queues, one round per {} ms each; kill -9 of a shard leader per trial",
        options.shards, options.series, options.queues, args.failover_period_ms
    );
    let table = result.table();
    println!("\n{heading}\n");
    print!("{}", table.aligned());
    println!("\nMarkdown for docs/benchmarks.md:\n\n```markdown\n{heading}\n");
    print!("{}", table.markdown());
    println!("```");
    if result.samples_lost > 0 || result.samples_duplicated > 0 || result.samples_wrong > 0 {
        bail!(
            "acknowledged data was not stored exactly once: {} lost, {} duplicated, {} wrong",
            result.samples_lost,
            result.samples_duplicated,
            result.samples_wrong
        );
    }
    Ok(())
}
