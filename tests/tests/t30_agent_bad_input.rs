//! Bad input on either side of the agent gets the behaviour the issue specifies.
//!
//! - Targets: a malformed exposition, a target that never answers, and one that returns 10 MB
//!   of series beyond `sample_limit` each fail their scrape (`up` = 0 at the receiver, a failure
//!   counted by reason), the 10 MB body leaves the agent's memory bounded, and a healthy target
//!   scraped by the same agent is unaffected.
//! - Receivers: 400 is dropped and counted, never retried; 429 (with `retry_on_http_429`) and
//!   500 are retried until delivered, and a slow receiver still gets everything, each scrape
//!   exactly once.
//! - Storage: garbage at the end of the newest WAL segment, written while the agent is stopped,
//!   is detected on start, counted and logged, and the agent goes on scraping and shipping.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use skyview_tests::bad_targets::{BadTarget, Misbehaviour};
use skyview_tests::completeness::check_scrape_sequence;
use skyview_tests::fake_receiver::{FakeReceiver, ReceiverBehaviour};
use skyview_tests::peers::VictoriaMetrics;
use skyview_tests::proc_stats::read_proc_stats;
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::targets::{SyntheticTargets, SCRAPE_COUNTER};
use skyview_tests::wait::wait_until;

const TIMEOUT: Duration = Duration::from_secs(60);
const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
/// The hanging target's scrape timeout: short, so timeouts come quickly.
const HANG_TIMEOUT: Duration = Duration::from_millis(500);
/// The size of the huge exposition.
const HUGE_BYTES: usize = 10 << 20;
/// The huge target's interval and timeout: reading 10 MB must fail on the sample limit, not on
/// a 1 s timeout in an unoptimised debug build.
const HUGE_INTERVAL: Duration = Duration::from_secs(3);
/// Far below the ~400,000 series of the huge exposition.
const SAMPLE_LIMIT: u64 = 1_000;
/// Peak RSS allowed to an agent scraping a 10 MB body every second: the body is read whole
/// and parsed, so tens of MB are expected; growing past this means per-scrape memory is kept.
const MAX_AGENT_RSS_BYTES: u64 = 256 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_targets_fail_their_scrapes_with_up_zero() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let victoria = VictoriaMetrics::start(dir.path()).await?;
    let malformed = BadTarget::start(Misbehaviour::Malformed).await?;
    let hang = BadTarget::start(Misbehaviour::Hang).await?;
    let huge = BadTarget::start(Misbehaviour::Huge { bytes: HUGE_BYTES }).await?;
    let good = SyntheticTargets::start(1, 20).await?;

    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(SCRAPE_INTERVAL)
        .job(ScrapeJob::new("malformed", [malformed.target()]))
        .job(ScrapeJob::new("hang", [hang.target()]).timeout(HANG_TIMEOUT))
        .job(
            ScrapeJob::new("huge", [huge.target()])
                .interval(HUGE_INTERVAL, HUGE_INTERVAL)
                .sample_limit(SAMPLE_LIMIT),
        )
        .job(ScrapeJob::new("good", good.targets()))
        .remote(RemoteWrite::new(victoria.write_url()).queue(QueueConfig::fast()))
        .write(&options.config)?;
    let agent = SkyviewAgent::start(options).await?;

    // Each failure counted by its reason (the reasons AgentMetrics documents).
    for (job, reason) in [
        ("malformed", "parse"),
        ("hang", "timeout"),
        ("huge", "sample_limit"),
    ] {
        wait_until(
            &format!("3 `{reason}` failures of job {job}"),
            TIMEOUT,
            || async {
                let failures = agent
                    .metric(
                        "skyview_agent_scrape_failures_total",
                        &[("job", job), ("reason", reason)],
                    )
                    .await?;
                Ok((failures >= 3.0).then_some(()))
            },
        )
        .await?;
    }
    ensure!(huge.requests() >= 3 && hang.requests() >= 3 && malformed.requests() >= 3);

    // At the receiver: every bad scrape is up = 0, the good target's are all up = 1, and none
    // of the huge exposition's series got through.
    for job in ["malformed", "hang", "huge"] {
        let up = format!(r#"up{{job="{job}"}}"#);
        wait_until(
            &format!("up = 0 of job {job} at the receiver"),
            TIMEOUT,
            || async {
                let scrapes = victoria
                    .count(&format!("count_over_time({up}[10m])"))
                    .await?;
                let ones = victoria.count(&format!("sum_over_time({up}[10m])")).await?;
                ensure!(
                    ones == 0.0,
                    "job {job}: {ones} scrapes with up = 1 at the receiver"
                );
                Ok((scrapes >= 3.0).then_some(()))
            },
        )
        .await?;
    }
    let leaked = victoria
        .count(r#"count(count_over_time({job="huge",__name__!~"up|scrape_.+"}[10m]))"#)
        .await?;
    ensure!(
        leaked == 0.0,
        "{leaked} series of the over-limit scrape reached the receiver"
    );
    let good_up = victoria
        .count(r#"min_over_time(up{job="good"}[10m])"#)
        .await?;
    ensure!(
        good_up == 1.0,
        "the healthy target's up went to {good_up} next to the bad ones"
    );

    let stats = read_proc_stats(agent.pid().context("agent not running")?)?;
    eprintln!(
        "agent peak RSS {} MiB after {} huge scrapes",
        stats.peak_rss_bytes >> 20,
        huge.requests()
    );
    ensure!(
        stats.peak_rss_bytes <= MAX_AGENT_RSS_BYTES,
        "agent peak RSS {} MiB after {} scrapes of a 10 MB body (limit {} MiB)",
        stats.peak_rss_bytes >> 20,
        huge.requests(),
        MAX_AGENT_RSS_BYTES >> 20
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_400_is_dropped_counted_and_not_retried() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let receiver = FakeReceiver::start(ReceiverBehaviour::AlwaysStatus(400)).await?;
    let targets = SyntheticTargets::start(1, 20).await?;
    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(SCRAPE_INTERVAL)
        .job(ScrapeJob::new("synthetic", targets.targets()))
        .remote(
            RemoteWrite::new(receiver.write_url())
                .name("rejecting")
                .queue(QueueConfig::fast()),
        )
        .write(&options.config)?;
    let agent = SkyviewAgent::start(options).await?;

    // Three scrapes' worth of samples dropped means the shipper moved on after each rejection.
    let three_scrapes = 3.0 * targets.series_per_target() as f64;
    wait_until("dropped samples counted", TIMEOUT, || async {
        let dropped = agent
            .metric(
                "skyview_agent_remote_dropped_samples_total",
                &[("remote_name", "rejecting"), ("reason", "http_4xx")],
            )
            .await?;
        Ok((dropped >= three_scrapes).then_some(()))
    })
    .await?;
    let retried = agent
        .metric(
            "skyview_agent_remote_retried_batches_total",
            &[("remote_name", "rejecting")],
        )
        .await?;
    ensure!(retried == 0.0, "{retried} batches retried after a 400");
    ensure!(
        receiver.decode_errors() == 0,
        "the agent sent bodies that do not decode"
    );
    ensure!(receiver.accepted_samples() == 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_and_slow_receivers_get_every_scrape_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let receivers = [
        (
            "throttling",
            ReceiverBehaviour::FailFirst {
                status: 429,
                times: 3,
                retry_after_secs: Some(1),
            },
        ),
        (
            "failing",
            ReceiverBehaviour::FailFirst {
                status: 500,
                times: 3,
                retry_after_secs: None,
            },
        ),
        (
            "slow",
            ReceiverBehaviour::Slow {
                delay: Duration::from_secs(2),
            },
        ),
    ];
    let mut started = Vec::new();
    for (name, behaviour) in receivers {
        started.push((name, FakeReceiver::start(behaviour).await?));
    }
    let targets = SyntheticTargets::start(1, 20).await?;
    let options = AgentOptions::in_dir(dir.path());
    let mut config =
        PromConfig::new(SCRAPE_INTERVAL).job(ScrapeJob::new("synthetic", targets.targets()));
    for (name, receiver) in &started {
        let queue = QueueConfig::fast().retry_on_http_429(true);
        config = config.remote(
            RemoteWrite::new(receiver.write_url())
                .name(name)
                .queue(queue),
        );
    }
    config.write(&options.config)?;
    let agent = SkyviewAgent::start(options).await?;

    wait_until("5 scrapes", TIMEOUT, || async {
        Ok((targets.scrapes(0) >= 5).then_some(()))
    })
    .await?;
    targets.set_available(false);
    let served = targets.scrapes(0);

    for (name, receiver) in &started {
        wait_until(
            &format!("every scrape exactly once at the {name} receiver"),
            TIMEOUT,
            || async {
                let series = receiver.series(SCRAPE_COUNTER);
                let samples = series.values().next().cloned().unwrap_or_default();
                ensure!(
                    series.len() <= 1,
                    "{name}: {} series named {SCRAPE_COUNTER}",
                    series.len()
                );
                check_scrape_sequence(&samples, served)
                    .map_err(|defect| anyhow::anyhow!("{name}: {defect}"))?;
                Ok(Some(()))
            },
        )
        .await?;
        ensure!(
            receiver.decode_errors() == 0,
            "{name}: the agent sent bodies that do not decode"
        );
    }
    for name in ["throttling", "failing"] {
        let retried = agent
            .metric(
                "skyview_agent_remote_retried_batches_total",
                &[("remote_name", name)],
            )
            .await?;
        ensure!(retried >= 1.0, "{name}: no batch was retried");
        let dropped = agent
            .metric(
                "skyview_agent_remote_dropped_samples_total",
                &[("remote_name", name)],
            )
            .await?;
        ensure!(
            dropped == 0.0,
            "{name}: {dropped} samples dropped for a retryable status"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_wal_tail_is_counted_and_the_agent_keeps_working() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let victoria = VictoriaMetrics::start(dir.path()).await?;
    let targets = SyntheticTargets::start(1, 20).await?;
    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(SCRAPE_INTERVAL)
        .job(ScrapeJob::new("synthetic", targets.targets()))
        .remote(RemoteWrite::new(victoria.write_url()).queue(QueueConfig::fast()))
        .write(&options.config)?;
    let mut agent = SkyviewAgent::start(options).await?;
    let newest_scrape = format!(r#"max_over_time({SCRAPE_COUNTER}{{job="synthetic"}}[10m])"#);
    wait_until("3 scrapes at the receiver", TIMEOUT, || async {
        Ok((victoria.count(&newest_scrape).await? >= 3.0).then_some(()))
    })
    .await?;

    agent.stop().await?;
    let segment = newest_segment(&agent.options().storage.join("wal"))?;
    append_garbage(&segment)?;
    let log_before = agent.process().log_text()?.len();
    let served_at_restart = targets.scrapes(0);
    agent.restart().await?;

    let corruptions = agent
        .metric("skyview_agent_wal_corruptions_total", &[])
        .await?;
    ensure!(
        corruptions >= 1.0,
        "garbage appended to {} was not counted",
        segment.display()
    );
    let log = agent.process().log_text()?;
    let after = log[log_before..].to_lowercase();
    ensure!(
        after
            .lines()
            .any(|l| (l.contains("warn") || l.contains("error")) && l.contains("wal")),
        "no warning about the WAL was logged after restart:\n{after}"
    );
    wait_until(
        "scrapes after the restart at the receiver",
        TIMEOUT,
        || async {
            Ok(
                (victoria.count(&newest_scrape).await? >= (served_at_restart + 3) as f64)
                    .then_some(()),
            )
        },
    )
    .await?;
    Ok(())
}

/// The segment file with the highest number in the WAL directory (segments are named by
/// number, zero-padded).
fn newest_segment(wal_dir: &Path) -> Result<PathBuf> {
    let mut newest: Option<(u64, PathBuf)> = None;
    for entry in
        std::fs::read_dir(wal_dir).with_context(|| format!("listing {}", wal_dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(number) = name.parse::<u64>() {
            if entry.file_type()?.is_file() && newest.as_ref().is_none_or(|(n, _)| number > *n) {
                newest = Some((number, entry.path()));
            }
        }
    }
    match newest {
        Some((_, path)) => Ok(path),
        None => bail!("no numbered segment file in {}", wal_dir.display()),
    }
}

/// Appends 4 KiB that cannot be a valid record: a length prefix far beyond the segment, then a
/// fixed pattern whose checksum will not match.
fn append_garbage(segment: &Path) -> Result<()> {
    use std::io::Write;
    let mut garbage = vec![0xA5u8; 4096];
    garbage[..4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    let mut file = std::fs::OpenOptions::new().append(true).open(segment)?;
    file.write_all(&garbage)?;
    file.sync_all()?;
    Ok(())
}
