//! The agent scrapes a real node_exporter and ships to a real Prometheus 2.42 remote-write
//! receiver and to a real VictoriaMetrics; both receivers must hold exactly what the agent
//! says it scraped.
//!
//! To compare exact counts the flow of node_exporter samples is stopped at a known point: after
//! a few scrapes node_exporter is stopped, so later scrapes fail and add only `up` = 0 and the
//! synthetic series (plus staleness markers, which `count_over_time` does not count). The
//! number of successful scrapes and of samples scraped are then frozen in the agent's
//! `/metrics`, and each receiver must reach them exactly.

use std::time::Duration;

use anyhow::{ensure, Result};
use skyview_tests::exposition::sample_lines;
use skyview_tests::peers::{NodeExporter, Prometheus, VictoriaMetrics};
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::promql::PromQl;
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::wait::wait_until;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Every node_exporter series, without the agent's synthetic ones.
const NODE_SERIES: &str = r#"{job="node",__name__!~"up|scrape_.+"}"#;

/// What the agent reports once node_exporter is gone.
#[derive(Debug)]
struct Frozen {
    successful_scrapes: f64,
    scraped_samples: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_exporter_series_reach_prometheus_and_victoria_metrics() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut node = NodeExporter::start(dir.path()).await?;
    let prometheus = Prometheus::start_receiver(dir.path()).await?;
    let victoria = VictoriaMetrics::start(dir.path()).await?;

    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("node", [node.target()]))
        .remote(
            RemoteWrite::new(prometheus.write_url())
                .name("prometheus")
                .queue(QueueConfig::fast()),
        )
        .remote(
            RemoteWrite::new(victoria.write_url())
                .name("victoria")
                .queue(QueueConfig::fast()),
        )
        .write(&options.config)?;
    let agent = SkyviewAgent::start(options).await?;

    // What node_exporter exposes, seen by us: the receivers' series count must be of this size.
    let exposed = sample_lines(
        &reqwest::get(node.peer.url("/metrics"))
            .await?
            .text()
            .await?,
    )
    .len() as f64;

    wait_until("5 scrapes of node_exporter", DELIVERY_TIMEOUT, || async {
        let scrapes = agent
            .metric("skyview_agent_scrapes_total", &[("job", "node")])
            .await?;
        Ok((scrapes >= 5.0).then_some(()))
    })
    .await?;
    node.peer.stop().await?;
    let frozen = wait_until(
        "two failed scrapes after node_exporter stopped",
        DELIVERY_TIMEOUT,
        || async {
            let text = agent.metrics_text().await?;
            let sum = |name| {
                skyview_tests::exposition::sum_matching(&text, name, &[("job", "node")])
                    .unwrap_or(0.0)
            };
            let (scrapes, failures) = (
                sum("skyview_agent_scrapes_total"),
                sum("skyview_agent_scrape_failures_total"),
            );
            // Two failures: the scrape after the first one completed, so none is in flight.
            Ok((failures >= 2.0).then(|| Frozen {
                successful_scrapes: scrapes - failures,
                scraped_samples: sum("skyview_agent_scraped_samples_total"),
            }))
        },
    )
    .await?;
    ensure!(
        frozen.successful_scrapes >= 5.0,
        "the agent counted {frozen:?}"
    );

    let mut distinct = Vec::new();
    for (name, promql) in [
        ("prometheus", prometheus.promql()?),
        ("victoria-metrics", victoria.promql()?),
    ] {
        let flush = || async {
            if name == "victoria-metrics" {
                victoria.flush().await?;
            }
            anyhow::Ok(())
        };
        // Successful scrapes: each wrote one `up` = 1.
        let up_ones = r#"sum_over_time(up{job="node"}[10m])"#;
        expect_exactly(name, &promql, &flush, up_ones, frozen.successful_scrapes).await?;
        // Every node_exporter sample the agent scraped, and not one more.
        let samples = format!("sum(count_over_time({NODE_SERIES}[10m]))");
        expect_exactly(name, &promql, &flush, &samples, frozen.scraped_samples).await?;
        // The agent's own per-scrape sample counts agree with what was delivered.
        let reported = r#"sum_over_time(scrape_samples_post_metric_relabeling{job="node"}[10m])"#;
        expect_exactly(name, &promql, &flush, reported, frozen.scraped_samples).await?;

        let series = promql
            .query_count(&format!("count(count_over_time({NODE_SERIES}[10m]))"))
            .await?;
        ensure!(
            (series - exposed).abs() <= exposed * 0.1,
            "{name} holds {series} node_exporter series, node_exporter exposed {exposed}"
        );
        distinct.push(series);
    }
    ensure!(
        distinct[0] == distinct[1],
        "Prometheus and VictoriaMetrics hold different series counts: {distinct:?}"
    );
    Ok(())
}

/// Waits until `query` at `name` gives `expected`; on timeout the error names the last value
/// (above `expected` means samples were invented or duplicated, below means some were lost).
async fn expect_exactly<F, Fut>(
    name: &str,
    promql: &PromQl,
    flush: &F,
    query: &str,
    expected: f64,
) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let what = format!("{name}: {query} == {expected}");
    wait_until(&what, DELIVERY_TIMEOUT, || async {
        flush().await?;
        let got = promql.query_count(query).await?;
        ensure!(
            got == expected,
            "{name}: {query} = {got}, expected {expected}"
        );
        Ok(Some(()))
    })
    .await
}
