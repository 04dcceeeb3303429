//! A stock Prometheus 2.42 in agent mode, scraping a real node_exporter, remote-writes to a
//! 3-node receiver cluster with nothing changed but the URL: the cluster holds its series, one
//! `up` sample per scrape, and the metric metadata Prometheus sends (asked of another node than
//! the one it was sent to, with the types and help texts node_exporter exposes).
//!
//! How the scrapes are counted: Prometheus observes `prometheus_target_interval_length_seconds`
//! at the start of every scrape but the first, so when its `_count` reads `K` it has started
//! `K + 1` scrapes, each appending its `up` sample at its start time. Read at moment `M`, the
//! cluster must end up with `K + 1` `up` samples at or before `M`, give or take the one scrape
//! that may start between the metrics response and `M` (so `K + 1` or `K + 2`), each at its own
//! timestamp. Prometheus sends no batch identity, so this also shows stock senders get
//! exactly-once storage from per-sample dedup.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use skyview_tests::exposition::{sample_lines, sum_matching};
use skyview_tests::metadata::{declared_metadata, wait_for_served_metadata};
use skyview_tests::peers::{NodeExporter, Prometheus};
use skyview_tests::prom_config::{PromConfig, RemoteWrite, ScrapeJob};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::remote_write_client::{now_ms, RemoteWriteClient, StoredSeries};
use skyview_tests::wait::wait_until;

const TIMEOUT: Duration = Duration::from_secs(90);
const SCRAPES_BEFORE_COUNTING: usize = 5;

async fn up_samples(
    client: &RemoteWriteClient,
    url: &str,
    start: i64,
    end: i64,
) -> Result<Vec<i64>> {
    let stored = client
        .select(url, r#"up{job="node"}"#, start, end, None)
        .await?;
    let mut times: Vec<i64> = stored
        .iter()
        .flat_map(|s| s.samples.iter().map(|(t, _)| *t))
        .collect();
    ensure!(
        stored.len() <= 1,
        "several up series for one target: {stored:?}"
    );
    times.sort_unstable();
    Ok(times)
}

fn node_series(stored: &[StoredSeries]) -> usize {
    stored
        .iter()
        .filter(|s| {
            s.labels
                .get("__name__")
                .is_some_and(|n| n.starts_with("node_"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_agent_mode_writes_node_exporter_to_the_cluster() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = ReceiverCluster::start(3, 4, 3).await?;
    let node_exporter = NodeExporter::start(dir.path()).await?;
    let config = dir.path().join("prometheus-agent.yml");
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("node", [node_exporter.target()]))
        .remote(
            RemoteWrite::new(format!("{}/api/v1/write", cluster.url(1)))
                .metadata_every(Duration::from_secs(1)),
        )
        .write(&config)?;
    let start = now_ms();
    let prometheus = Prometheus::start_agent(dir.path(), &config).await?;
    let client = RemoteWriteClient::new()?;
    // Reads go to another node than the one written to: any node serves every shard.
    let read_url = cluster.url(2);

    wait_until("the first scrapes in the cluster", TIMEOUT, || async {
        let ups = up_samples(&client, &read_url, start, now_ms()).await?;
        Ok((ups.len() >= SCRAPES_BEFORE_COUNTING).then_some(()))
    })
    .await?;

    let metrics = reqwest::get(prometheus.peer.url("/metrics"))
        .await?
        .text()
        .await?;
    let moment = now_ms();
    let intervals = sum_matching(
        &metrics,
        "prometheus_target_interval_length_seconds_count",
        &[("interval", "1s")],
    )
    .context("Prometheus does not report prometheus_target_interval_length_seconds_count")?;
    let started = intervals as usize + 1;
    let ups = wait_until(
        "every scrape's up sample in the cluster",
        TIMEOUT,
        || async {
            let ups = up_samples(&client, &read_url, start, moment).await?;
            Ok((ups.len() >= started).then_some(ups))
        },
    )
    .await?;
    let mut distinct = ups.clone();
    distinct.dedup();
    ensure!(
        distinct.len() == ups.len(),
        "up samples share timestamps (stored twice): {ups:?}"
    );
    ensure!(
        ups.len() <= started + 1,
        "Prometheus had started {started} scrapes at {moment}, the cluster holds {} up samples \
         up to then",
        ups.len()
    );

    // node_exporter's series arrived, as many as it exposes.
    let exposed_text = reqwest::get(node_exporter.peer.url("/metrics"))
        .await?
        .text()
        .await?;
    let exposed = sample_lines(&exposed_text)
        .iter()
        .map(|line| line.name.as_str())
        .filter(|name| name.starts_with("node_"))
        .count();
    let stored = client
        .select(
            &read_url,
            r#"{job="node",__name__=~"node_.+"}"#,
            start,
            now_ms(),
            None,
        )
        .await?;
    let stored_series = node_series(&stored);
    ensure!(
        stored_series.abs_diff(exposed) <= exposed / 10,
        "the cluster holds {stored_series} node_* series, node_exporter exposes {exposed}"
    );
    eprintln!(
        "Prometheus started {started} scrapes; the cluster holds {} up samples and \
         {stored_series} node_* series ({exposed} exposed)",
        ups.len()
    );

    // Metadata: every node_* family node_exporter types, with its type and help, from node 3.
    let families = declared_metadata(&exposed_text, "node_");
    let metadata_url = format!("{}/api/v1/metadata", cluster.url(3));
    wait_for_served_metadata(&metadata_url, &families, TIMEOUT).await?;
    eprintln!("metadata of all {} node_* families served", families.len());
    Ok(())
}
