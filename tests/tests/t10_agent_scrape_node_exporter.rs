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

/// Every raw sample of every node_exporter series (not the agent's synthetic ones) in the
/// test's time span.
const NODE_SAMPLES: &str = r#"{job="node",__name__!~"up|scrape_.+"}[10m]"#;

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

    let receivers = [
        Receiver {
            name: "prometheus",
            promql: prometheus.promql()?,
            victoria: None,
        },
        Receiver {
            name: "victoria-metrics",
            promql: victoria.promql()?,
            victoria: Some(&victoria),
        },
    ];
    let mut distinct = Vec::new();
    for receiver in &receivers {
        // Successful scrapes: each wrote one `up` = 1.
        let up_ones = r#"sum_over_time(up{job="node"}[10m])"#;
        receiver
            .expect(up_ones, frozen.successful_scrapes, |r| r.value(up_ones))
            .await?;
        // Every node_exporter sample the agent scraped, and not one more.
        receiver
            .expect(NODE_SAMPLES, frozen.scraped_samples, |r| async {
                Ok(r.node_samples().await?.1)
            })
            .await?;
        // The agent's own per-scrape sample counts agree with what was delivered.
        let reported = r#"sum_over_time(scrape_samples_post_metric_relabeling{job="node"}[10m])"#;
        receiver
            .expect(reported, frozen.scraped_samples, |r| r.value(reported))
            .await?;

        let (series, _) = receiver.node_samples().await?;
        ensure!(
            (series as f64 - exposed).abs() <= exposed * 0.1,
            "{} holds {series} node_exporter series, node_exporter exposed {exposed}",
            receiver.name
        );
        distinct.push(series);
    }
    ensure!(
        distinct[0] == distinct[1],
        "Prometheus and VictoriaMetrics hold different series counts: {distinct:?}"
    );
    Ok(())
}

/// A receiver under test and how to ask it.
struct Receiver<'a> {
    name: &'static str,
    promql: PromQl,
    /// Set for VictoriaMetrics, which is flushed before each query.
    victoria: Option<&'a VictoriaMetrics>,
}

impl Receiver<'_> {
    async fn flush(&self) -> Result<()> {
        match self.victoria {
            Some(victoria) => victoria.flush().await,
            None => Ok(()),
        }
    }

    async fn value(&self, query: &str) -> Result<f64> {
        self.flush().await?;
        self.promql.query_count(query).await
    }

    /// Distinct node_exporter series and their samples.
    ///
    /// The two receivers need different questions for the same answer. Prometheus rejects
    /// `sum(count_over_time(...))` here (the function drops the metric name, and series of
    /// different names then share a label set), so its raw samples are counted; VictoriaMetrics
    /// 1.79 returns staleness markers among raw samples (written when node_exporter stops), so
    /// its `count_over_time`, which skips them and sums such series fine, is used.
    async fn node_samples(&self) -> Result<(usize, f64)> {
        self.flush().await?;
        let series = self.promql.query_range_vector(NODE_SAMPLES).await?;
        let samples = match self.victoria {
            Some(_) => {
                let query = format!("sum(count_over_time({NODE_SAMPLES}))");
                self.promql.query_count(&query).await?
            }
            None => series.iter().map(|s| s.samples.len()).sum::<usize>() as f64,
        };
        Ok((series.len(), samples))
    }

    /// Waits until `measure` gives `expected`; on timeout the error names the last value (above
    /// `expected` means samples were invented or duplicated, below means some were lost).
    async fn expect<'r, F, Fut>(&'r self, what: &str, expected: f64, measure: F) -> Result<()>
    where
        F: Fn(&'r Self) -> Fut,
        Fut: std::future::Future<Output = Result<f64>>,
    {
        let name = self.name;
        let description = format!("{name}: {what} == {expected}");
        wait_until(&description, DELIVERY_TIMEOUT, || async {
            let got = measure(self).await?;
            ensure!(
                got == expected,
                "{name}: {what} = {got}, expected {expected}"
            );
            Ok(Some(()))
        })
        .await
    }
}
