//! `skyview up`: an all-in-one local global view in one process. A 3-node receiver cluster on
//! 127.0.0.1:9201..9203 (tokio) and an agent on 127.0.0.1:9200 (its own actix system, on its
//! own thread) that scrapes the three nodes and every `--target`, and remote-writes to the
//! cluster. Ctrl-C stops the agent and the nodes cleanly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use skyview_actors::agent::{self, AgentOptions};
use skyview_raft::type_config::NodeId;

use crate::receiver_cmd::{termination, ReceiverArgs, RunningNode};

const NODES: u16 = 3;
const FIRST_NODE_PORT: u16 = 9201;
const AGENT_ADDRESS: &str = "127.0.0.1:9200";
/// How long the cluster gets to elect its leaders before `up` says so and starts anyway.
const READY_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct UpArgs {
    /// A host:port to scrape besides the cluster itself (repeatable), e.g. a node_exporter.
    #[arg(long = "target")]
    targets: Vec<String>,

    /// Where the nodes (node-1, node-2, node-3) and the agent (agent/) keep their data.
    #[arg(long = "data-dir", default_value = "./skyview-data")]
    data_dir: PathBuf,
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let node_addresses: Vec<SocketAddr> = (0..NODES)
        .map(|i| SocketAddr::from(([127, 0, 0, 1], FIRST_NODE_PORT + i)))
        .collect();
    let initial_cluster: BTreeMap<NodeId, String> = node_addresses
        .iter()
        .zip(1..)
        .map(|(address, id)| (id, format!("http://{address}")))
        .collect();
    let agent_dir = args.data_dir.join("agent");
    std::fs::create_dir_all(&agent_dir)
        .with_context(|| format!("creating {}", agent_dir.display()))?;
    let config_file = agent_dir.join("prometheus.yml");
    std::fs::write(
        &config_file,
        agent_config(&node_addresses, &args.targets, &initial_cluster[&1]),
    )
    .with_context(|| format!("writing {}", config_file.display()))?;

    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let nodes = runtime.block_on(async {
        let mut nodes = Vec::new();
        for (address, id) in node_addresses.iter().zip(1..) {
            let node_args = node_args(id, *address, &args.data_dir, &initial_cluster);
            nodes.push(RunningNode::start(&node_args).await?);
        }
        wait_ready(&nodes).await;
        anyhow::Ok(nodes)
    })?;

    let agent_options = AgentOptions {
        config_file,
        storage_path: agent_dir.join("data"),
        listen_address: AGENT_ADDRESS.parse().context("agent address")?,
        retention_max_time: Duration::ZERO,
        retention_max_size: 0,
        wal_segment_size: 32 << 20,
    };
    // The agent is an actix system: it runs on its own thread and stops on the same SIGINT or
    // SIGTERM as the nodes (tokio delivers a signal to every listener).
    let agent = std::thread::Builder::new()
        .name("skyview-agent".into())
        .spawn(move || actix_rt::System::new().block_on(agent::run(agent_options)))
        .context("starting the agent thread")?;

    print_banner(&initial_cluster, &args.targets, &args.data_dir);
    let stopped = runtime.block_on(async {
        let signal = termination().await;
        tracing::info!("skyview up stopping");
        // Stopped together, so no node spends its shutdown retrying peers already gone.
        for result in futures::future::join_all(nodes.into_iter().map(RunningNode::stop)).await {
            if let Err(e) = result {
                tracing::warn!(error = %e, "node did not stop cleanly");
            }
        }
        signal
    });
    let agent_result = agent
        .join()
        .map_err(|_| anyhow::anyhow!("the agent thread panicked"))?;
    stopped?;
    agent_result.context("agent")?;
    Ok(())
}

fn node_args(
    id: NodeId,
    address: SocketAddr,
    data_dir: &Path,
    initial_cluster: &BTreeMap<NodeId, String>,
) -> ReceiverArgs {
    let defaults = ReceiverArgs::defaults(id);
    ReceiverArgs {
        listen_address: address,
        data_dir: data_dir.join(format!("node-{id}")),
        initial_cluster: Some(initial_cluster.clone()),
        ..defaults
    }
}

/// Waits until every node says it is ready (leaders elected), or [`READY_WAIT`] passes.
async fn wait_ready(nodes: &[RunningNode]) {
    let started = Instant::now();
    while !nodes.iter().all(|n| n.node.is_ready()) {
        if started.elapsed() > READY_WAIT {
            tracing::warn!(
                "the cluster is not ready after {READY_WAIT:?}; starting the agent anyway \
                 (it buffers until the cluster accepts writes)"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The agent's prometheus.yml: the cluster's nodes, the user's targets, remote write to node 1.
fn agent_config(nodes: &[SocketAddr], targets: &[String], write_url: &str) -> String {
    let list = |items: Vec<String>| {
        items
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut config = format!(
        "# Generated by `skyview up`; rewritten at every start.\n\
         global:\n  scrape_interval: 15s\n\
         scrape_configs:\n  - job_name: skyview-receiver\n    static_configs:\n      - targets: [{}]\n",
        list(nodes.iter().map(ToString::to_string).collect())
    );
    if !targets.is_empty() {
        config.push_str(&format!(
            "  - job_name: targets\n    static_configs:\n      - targets: [{}]\n",
            list(targets.to_vec())
        ));
    }
    config.push_str(&format!(
        "remote_write:\n  - url: {write_url}/api/v1/write\n"
    ));
    config
}

fn print_banner(cluster: &BTreeMap<NodeId, String>, targets: &[String], data_dir: &Path) {
    let first = &cluster[&1];
    println!(
        "Skyview is up (Ctrl-C stops it). Data: {}",
        data_dir.display()
    );
    for (id, url) in cluster {
        println!("  receiver node {id}:     {url}  (metrics: {url}/metrics)");
    }
    println!("  agent:               http://{AGENT_ADDRESS}  (targets: http://{AGENT_ADDRESS}/api/v1/targets)");
    println!("  remote write:        {first}/api/v1/write");
    println!("  cluster status:      {first}/api/v1/status/cluster  (or: skyview ctl status)");
    println!("  read samples:        {first}/api/v1/internal/select?match[]=up");
    if !targets.is_empty() {
        println!("  scraping also:       {}", targets.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_config_loads_as_a_valid_agent_config() {
        let nodes: Vec<SocketAddr> = vec!["127.0.0.1:9201".parse().unwrap()];
        let text = agent_config(
            &nodes,
            &["localhost:9100".to_owned()],
            "http://127.0.0.1:9201",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prometheus.yml");
        std::fs::write(&path, &text).unwrap();
        let config = skyview_actors::config::Config::load(&path).unwrap();
        let debug = format!("{config:?}");
        assert!(debug.contains("localhost:9100"), "{debug}");
        assert!(
            debug.contains("http://127.0.0.1:9201/api/v1/write"),
            "{debug}"
        );
    }
}
