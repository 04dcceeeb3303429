//! A receiver outage with an agent crash in the middle loses no scrape.
//!
//! VictoriaMetrics is stopped while the agent keeps scraping a synthetic target into its WAL;
//! during the outage the agent is killed with SIGKILL and started again on the same storage;
//! then VictoriaMetrics comes back. Every scrape the target served must then be at the
//! receiver, with no gap: the target's scrape counter series carries the scrape number, and
//! `count_over_time`, `min_over_time` and `max_over_time` of it show whether any is missing.
//!
//! The one allowance: the scrape in flight when SIGKILL lands. The target has served it, but
//! the agent died before making it durable, so nobody acknowledged it and losing it is correct.
//! That scrape is the last one the target served before the kill (number `k`), so the check is
//! exact around it: all of `1..k` and all of `k+1..=served` must be there, and only `k` may be
//! absent.
//!
//! After a crash the agent may resend the batch that was in flight (at-least-once), so the
//! receiver runs with `-dedup.minScrapeInterval=1ms`, which collapses exact re-deliveries (same
//! series, same millisecond) and nothing else.

use std::time::Duration;

use anyhow::{ensure, Result};
use skyview_tests::peers::{VictoriaMetrics, VictoriaMetricsOptions};
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::targets::{SyntheticTargets, SCRAPE_COUNTER};
use skyview_tests::wait::wait_until;

const TIMEOUT: Duration = Duration::from_secs(60);
/// Scrapes the agent makes on each side of the crash while the receiver is down.
const SCRAPES_PER_PHASE: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_and_sigkill_lose_no_acknowledged_scrape() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let targets = SyntheticTargets::start(1, 100).await?;
    let dedup = VictoriaMetricsOptions {
        dedup_min_scrape_interval: Some(Duration::from_millis(1)),
    };
    let mut victoria = VictoriaMetrics::start_with(dir.path(), dedup).await?;

    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("synthetic", targets.targets()))
        .remote(RemoteWrite::new(victoria.write_url()).queue(QueueConfig::fast()))
        .write(&options.config)?;
    let mut agent = SkyviewAgent::start(options).await?;

    let series = format!(r#"{SCRAPE_COUNTER}{{job="synthetic"}}"#);
    let count = format!("count_over_time({series}[1h])");
    wait_until("the first scrapes at the receiver", TIMEOUT, || async {
        Ok((victoria.count(&count).await? >= 3.0).then_some(()))
    })
    .await?;

    // Outage: the agent keeps scraping into its WAL.
    victoria.peer.stop().await?;
    wait_for_scrapes(&targets, targets.scrapes(0) + SCRAPES_PER_PHASE).await?;

    // Crash during the outage, and restart on the same storage.
    agent.kill9()?;
    let served_at_kill = targets.scrapes(0);
    agent.restart().await?;
    wait_for_scrapes(&targets, served_at_kill + SCRAPES_PER_PHASE).await?;

    // The receiver comes back; then the source is frozen so the expected total is fixed.
    victoria.peer.restart().await?;
    targets.set_available(false);
    let served = targets.scrapes(0);

    let before_kill = format!("count_le_over_time({series}[1h], {})", served_at_kill - 1);
    let after_kill = format!("count_gt_over_time({series}[1h], {served_at_kill})");
    let (want_before, want_after) = (
        (served_at_kill - 1) as f64,
        (served - served_at_kill) as f64,
    );
    let total = wait_until("every scrape at the receiver", TIMEOUT, || async {
        let got_before = victoria.count(&before_kill).await?;
        let got_after = victoria.count(&after_kill).await?;
        let total = victoria.count(&count).await?;
        ensure!(
            got_before == want_before && got_after == want_after,
            "served {served} scrapes, killed after scrape {served_at_kill}; the receiver holds \
             {got_before} of scrapes before it, {got_after} of scrapes after it, {total} in all"
        );
        Ok(Some(total))
    })
    .await?;
    let lost = served as f64 - total;
    ensure!(
        lost == 0.0 || lost == 1.0,
        "the receiver holds {total} samples of {served} scrapes"
    );
    eprintln!("served {served} scrapes, received {total} (the in-flight scrape lost: {lost})");
    Ok(())
}

async fn wait_for_scrapes(targets: &SyntheticTargets, at_least: u64) -> Result<()> {
    wait_until(&format!("{at_least} scrapes served"), TIMEOUT, || async {
        Ok((targets.scrapes(0) >= at_least).then_some(()))
    })
    .await
}
