//! The Skyview agent sends its targets' metric metadata with remote write, as Prometheus does:
//! scraping a real node_exporter and shipping to a 3-node receiver cluster, every `node_*`
//! family node_exporter types is served by `/api/v1/metadata` of another node than the one
//! written to, with node_exporter's type and help text. This is what Grafana's metric browser
//! shows for a Skyview agent's data.

use std::time::Duration;

use anyhow::Result;
use skyview_tests::metadata::{declared_metadata, wait_for_served_metadata};
use skyview_tests::peers::NodeExporter;
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_metadata_reaches_the_cluster() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = ReceiverCluster::start(3, 4, 3).await?;
    let node_exporter = NodeExporter::start(dir.path()).await?;
    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("node", [node_exporter.target()]))
        .remote(
            RemoteWrite::new(format!("{}/api/v1/write", cluster.url(1)))
                .queue(QueueConfig::fast())
                .metadata_every(Duration::from_secs(1)),
        )
        .write(&options.config)?;
    let _agent = SkyviewAgent::start(options).await?;

    let exposed = reqwest::get(node_exporter.peer.url("/metrics"))
        .await?
        .text()
        .await?;
    let families = declared_metadata(&exposed, "node_");
    let metadata_url = format!("{}/api/v1/metadata", cluster.url(3));
    wait_for_served_metadata(&metadata_url, &families, TIMEOUT).await?;
    eprintln!("metadata of all {} node_* families served", families.len());
    Ok(())
}
