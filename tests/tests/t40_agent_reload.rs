//! Reloading the configuration (POST /-/reload and SIGHUP) applies the new file, keeps the old
//! one when the new one is invalid, and loses no buffered sample.
//!
//! The agent starts with one job; a reload adds a second job and changes the external labels
//! (which restarts the remote-write shipper); an invalid file is then rejected with a 500 that
//! names the bad field while everything keeps running; finally SIGHUP removes the second job.
//! At the end every scrape of the first target must be at the receiver exactly once in count,
//! whatever label set it was shipped under.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use skyview_tests::completeness::check_scrape_sequence;
use skyview_tests::peers::{VictoriaMetrics, VictoriaMetricsOptions};
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::targets::{SyntheticTargets, SCRAPE_COUNTER};
use skyview_tests::wait::wait_until;

const TIMEOUT: Duration = Duration::from_secs(60);

fn config(
    targets: &SyntheticTargets,
    write_url: &str,
    with_second_job: bool,
    generation: &str,
) -> PromConfig {
    let all = targets.targets();
    let mut config = PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("first", [all[0].clone()]))
        .remote(RemoteWrite::new(write_url).queue(QueueConfig::fast()))
        .external_label("generation", generation);
    if with_second_job {
        config = config.job(ScrapeJob::new("second", [all[1].clone()]));
    }
    config
}

async fn active_jobs(agent: &SkyviewAgent) -> Result<Vec<String>> {
    let body: Value = serde_json::from_slice(
        &reqwest::get(agent.url("/api/v1/targets"))
            .await?
            .bytes()
            .await?,
    )?;
    let mut jobs: Vec<String> = body["data"]["activeTargets"]
        .as_array()
        .context("activeTargets is not an array")?
        .iter()
        .filter_map(|t| t["scrapePool"].as_str().map(str::to_owned))
        .collect();
    jobs.sort();
    Ok(jobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_valid_files_rejects_invalid_ones_and_loses_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let targets = SyntheticTargets::start(2, 50).await?;
    let dedup = VictoriaMetricsOptions {
        dedup_min_scrape_interval: Some(Duration::from_millis(1)),
    };
    let victoria = VictoriaMetrics::start_with(dir.path(), dedup).await?;
    let options = AgentOptions::in_dir(dir.path());
    config(&targets, &victoria.write_url(), false, "1").write(&options.config)?;
    let agent = SkyviewAgent::start(options.clone()).await?;
    let http = reqwest::Client::new();

    let first = format!(r#"{SCRAPE_COUNTER}{{job="first"}}"#);
    wait_until("first job's samples at the receiver", TIMEOUT, || async {
        Ok((victoria
            .count(&format!("count_over_time({first}[1h])"))
            .await?
            >= 2.0)
            .then_some(()))
    })
    .await?;
    ensure!(active_jobs(&agent).await? == ["first"]);

    // A valid reload: a second job, and new external labels for the shipper.
    config(&targets, &victoria.write_url(), true, "2").write(&options.config)?;
    let answer = http.post(agent.url("/-/reload")).send().await?;
    ensure!(
        answer.status() == 200,
        "reload answered {}",
        answer.status()
    );
    ensure!(active_jobs(&agent).await? == ["first", "second"]);
    let status: Value = serde_json::from_slice(
        &reqwest::get(agent.url("/api/v1/status/config"))
            .await?
            .bytes()
            .await?,
    )?;
    let yaml = status["data"]["yaml"]
        .as_str()
        .context("no yaml in status/config")?;
    ensure!(
        yaml.contains("second"),
        "status/config does not show the new job:\n{yaml}"
    );
    ensure!(
        agent
            .metric("skyview_agent_config_last_reload_successful", &[])
            .await?
            == 1.0
    );
    let second = format!(r#"{SCRAPE_COUNTER}{{job="second",generation="2"}}"#);
    wait_until("second job's samples at the receiver", TIMEOUT, || async {
        Ok((victoria
            .count(&format!("count_over_time({second}[1h])"))
            .await?
            >= 2.0)
            .then_some(()))
    })
    .await?;

    // An invalid file: rejected with the field named, the running configuration kept.
    let good = std::fs::read_to_string(&options.config)?;
    std::fs::write(&options.config, good.replacen("job_name", "jobname", 1))?;
    let answer = http.post(agent.url("/-/reload")).send().await?;
    ensure!(
        answer.status() == 500,
        "invalid reload answered {}",
        answer.status()
    );
    let text = answer.text().await?;
    ensure!(
        text.contains("jobname"),
        "the error does not name the field: {text}"
    );
    ensure!(
        agent
            .metric("skyview_agent_config_last_reload_successful", &[])
            .await?
            == 0.0
    );
    ensure!(active_jobs(&agent).await? == ["first", "second"]);

    // SIGHUP: back to one job.
    config(&targets, &victoria.write_url(), false, "3").write(&options.config)?;
    let pid = agent.pid().context("the agent is not running")?;
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP failed");
    wait_until("SIGHUP reload", TIMEOUT, || async {
        Ok((active_jobs(&agent).await? == ["first"]).then_some(()))
    })
    .await?;

    // Nothing buffered was lost across the shipper restarts: every scrape of the first
    // target is at the receiver. A batch in flight when a shipper restarted may have been
    // delivered under both the old and the new external labels (at-least-once across a
    // restart), so samples are merged by timestamp before the sequence is checked.
    targets.set_available(false);
    let served = targets.scrapes(0);
    wait_until(
        "every scrape of the first target at the receiver",
        TIMEOUT,
        || async {
            victoria.flush().await?;
            let series = victoria
                .promql()?
                .query_range_vector(&format!("{first}[1h]"))
                .await?;
            let mut samples: Vec<(i64, f64)> = series
                .iter()
                .flat_map(|s| {
                    s.samples
                        .iter()
                        .map(|&(t, v)| ((t * 1000.0).round() as i64, v))
                })
                .collect();
            samples.sort_by_key(|&(t, _)| t);
            samples.dedup_by_key(|&mut (t, _)| t);
            check_scrape_sequence(&samples, served)
                .map_err(|defect| anyhow::anyhow!("after reloads: {defect}"))?;
            Ok(Some(()))
        },
    )
    .await
}
