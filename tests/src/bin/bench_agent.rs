//! `bench-agent`: `skyview agent`, Prometheus 2.42 in agent mode and vmagent, side by side in
//! one run, scraping the same synthetic targets and shipping to VictoriaMetrics.
//!
//! Run it with (the release `skyview` binary must be built first):
//!
//! ```text
//! cargo build --release --bin skyview
//! cargo run --release -p skyview-tests --bin bench-agent -- --minutes 5 --targets 50 --series 2000 --interval 5s
//! ```
//!
//! Method (docs/benchmarks.md repeats it next to the results):
//! - One process of this binary serves every synthetic target for the whole run, so all agents
//!   scrape the very same load.
//! - The agents run one after another, in phases of equal length, never concurrently: on two
//!   cores, concurrent agents would steal CPU from each other and from VictoriaMetrics, and the
//!   one scheduled worst would look slowest.
//! - Each phase gets a fresh VictoriaMetrics sink (same flags, empty storage), so every agent
//!   ships into identical conditions and the sink's sample count is that agent's alone.
//! - Each agent is given the same prometheus.yml scrape config (vmagent without the
//!   `remote_write` block, taking the URL as `-remoteWrite.url`), with each agent's own
//!   default queue settings.
//! - A phase: start the agent, let it warm up (first scrapes create every series), measure
//!   CPU (utime + stime) over `--minutes`, read peak RSS (VmHWM) at the end of that window,
//!   then make the targets answer 503 so no more samples are served, wait for the sink to stop
//!   growing (bounded by `--drain-timeout`), and count the targets' samples at the sink.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use skyview_actors::config::PromDuration;
use skyview_tests::bench_report::{render_table, PhaseResult};
use skyview_tests::peers::{Prometheus, VictoriaMetrics, VmAgent};
use skyview_tests::proc_stats::read_proc_stats;
use skyview_tests::prom_config::{PromConfig, RemoteWrite, ScrapeJob};
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::targets::SyntheticTargets;

/// The job name of the synthetic targets in every agent's config.
const JOB: &str = "bench";
/// Polls without change after which the sink is taken as drained.
const STABLE_POLLS: u32 = 15;

#[derive(Debug, Parser)]
#[command(
    about = "Compare skyview agent, Prometheus agent mode and vmagent on the same scrape load"
)]
struct Args {
    /// Length of each agent's measured window, in minutes.
    #[arg(long, default_value_t = 5.0)]
    minutes: f64,
    /// Number of synthetic targets.
    #[arg(long, default_value_t = 50)]
    targets: usize,
    /// Series per target.
    #[arg(long, default_value_t = 2_000)]
    series: usize,
    /// Scrape interval (Prometheus duration syntax).
    #[arg(long, default_value = "5s", value_parser = PromDuration::parse)]
    interval: PromDuration,
    /// Time each agent runs before its measured window starts.
    #[arg(long, default_value = "30s", value_parser = PromDuration::parse)]
    warmup: PromDuration,
    /// Longest wait for the sink to receive what an agent still holds after its window.
    #[arg(long, default_value = "2m", value_parser = PromDuration::parse)]
    drain_timeout: PromDuration,
    /// Agents to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "vmagent,prometheus-agent,skyview"
    )]
    agents: Vec<AgentKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AgentKind {
    Skyview,
    PrometheusAgent,
    Vmagent,
}

impl AgentKind {
    fn name(self) -> &'static str {
        match self {
            Self::Skyview => "skyview",
            Self::PrometheusAgent => "prometheus-agent",
            Self::Vmagent => "vmagent",
        }
    }
}

/// A started agent of any kind.
enum Running {
    Skyview(SkyviewAgent),
    Prometheus(Prometheus),
    VmAgent(VmAgent),
}

impl Running {
    async fn start(
        agent: AgentKind,
        dir: &Path,
        config: &PromConfig,
        sink: &VictoriaMetrics,
    ) -> Result<Self> {
        let with_sink = config.clone().remote(RemoteWrite::new(sink.write_url()));
        Ok(match agent {
            AgentKind::Skyview => {
                let options = AgentOptions::in_dir(dir);
                with_sink.write(&options.config)?;
                Self::Skyview(SkyviewAgent::start(options).await?)
            }
            AgentKind::PrometheusAgent => {
                let path = dir.join("prometheus.yml");
                with_sink.write(&path)?;
                Self::Prometheus(Prometheus::start_agent(dir, &path).await?)
            }
            AgentKind::Vmagent => {
                let path = dir.join("scrape.yml");
                config.scrape_only().write(&path)?;
                Self::VmAgent(VmAgent::start(dir, &path, &sink.write_url()).await?)
            }
        })
    }

    fn pid(&self) -> Result<u32> {
        match self {
            Self::Skyview(a) => a.pid(),
            Self::Prometheus(p) => p.peer.pid(),
            Self::VmAgent(v) => v.peer.pid(),
        }
        .context("the agent is not running")
    }

    async fn stop(&mut self) -> Result<()> {
        match self {
            Self::Skyview(a) => a.stop().await,
            Self::Prometheus(p) => p.peer.stop().await,
            Self::VmAgent(v) => v.peer.stop().await,
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.minutes <= 0.0 || args.targets == 0 || args.series == 0 {
        bail!("--minutes, --targets and --series must be positive");
    }
    let targets = SyntheticTargets::start(args.targets, args.series).await?;
    let config =
        PromConfig::new(args.interval.as_duration()).job(ScrapeJob::new(JOB, targets.targets()));
    let run_dir = tempfile::Builder::new().prefix("bench-agent-").tempdir()?;
    eprintln!(
        "bench-agent: {} targets x {} series every {}, {} min per agent after {} warm-up; logs in {}",
        args.targets,
        args.series,
        args.interval,
        args.minutes,
        args.warmup,
        run_dir.path().display()
    );

    let mut results = Vec::new();
    for agent in &args.agents {
        let dir = run_dir.path().join(agent.name());
        std::fs::create_dir_all(&dir)?;
        let result = run_phase(*agent, &dir, &args, &config, &targets).await?;
        eprintln!("{result:?}");
        results.push(result);
    }
    println!(
        "\n{} targets x {} series, interval {}, {} min measured per agent, {} cores\n",
        args.targets,
        args.series,
        args.interval,
        args.minutes,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    print!("{}", render_table(&results));
    // Keep the logs when asked to, for profiles and post-mortems.
    if std::env::var_os("BENCH_KEEP_DIR").is_some() {
        eprintln!("kept {}", run_dir.keep().display());
    }
    Ok(())
}

async fn run_phase(
    agent: AgentKind,
    dir: &Path,
    args: &Args,
    config: &PromConfig,
    targets: &SyntheticTargets,
) -> Result<PhaseResult> {
    let sink = VictoriaMetrics::start(dir).await?;
    targets.set_available(true);
    let served_before = targets.samples_served();
    let mut running = Running::start(agent, dir, config, &sink).await?;
    let pid = running.pid()?;
    eprintln!("{}: started (pid {pid}), warming up", agent.name());
    tokio::time::sleep(args.warmup.as_duration()).await;

    let window = Duration::from_secs_f64(args.minutes * 60.0);
    let start = read_proc_stats(pid)?;
    tokio::time::sleep(window).await;
    let end = read_proc_stats(pid)?;

    targets.set_available(false);
    let samples_served = targets.samples_served() - served_before;
    eprintln!("{}: window over; draining to the sink", agent.name());
    let samples_delivered = drain(&sink, args, samples_served).await?;
    running.stop().await?;
    Ok(PhaseResult {
        agent: agent.name().to_owned(),
        minutes: args.minutes,
        cpu_seconds: end.cpu_seconds - start.cpu_seconds,
        peak_rss_bytes: end.peak_rss_bytes,
        samples_served,
        samples_delivered,
    })
}

/// Waits until the sink holds every served sample, or its count has not moved for
/// [`STABLE_POLLS`] polls, or the drain timeout passes; returns the last count.
///
/// Polled once a second: each poll counts every sample of 100,000 series, which is not free.
async fn drain(sink: &VictoriaMetrics, args: &Args, served: u64) -> Result<u64> {
    // The range covers the whole phase (warm-up, measurement and drain) with margin.
    let range_secs = (args.warmup.as_duration().as_secs_f64() + args.minutes * 60.0) as u64
        + args.drain_timeout.as_duration().as_secs()
        + 600;
    let query =
        format!(r#"sum(count_over_time({{job="{JOB}",__name__!~"up|scrape_.+"}}[{range_secs}s]))"#);
    let deadline = tokio::time::Instant::now() + args.drain_timeout.as_duration();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let (mut count, mut unchanged) = (0u64, 0u32);
    loop {
        ticker.tick().await;
        let now = sink.count(&query).await? as u64;
        unchanged = if now == count { unchanged + 1 } else { 0 };
        count = now;
        if count >= served || unchanged >= STABLE_POLLS {
            return Ok(count);
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!("drain timeout: the sink holds {count} of {served} served samples");
            return Ok(count);
        }
    }
}
