//! `skyview ctl`: admin commands against a running cluster, over its HTTP API.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use skyview_raft::node::{ClusterStatus, GroupStatus};
use skyview_raft::type_config::NodeId;

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// Any node of the cluster.
    #[arg(long = "url", default_value = "http://127.0.0.1:9201", global = true)]
    url: String,

    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Debug, Subcommand)]
enum CtlCommand {
    /// Print the members, the meta group and every shard (leader, term, commit, applied, replica
    /// health).
    Status,
    /// Take a node out of the cluster: its shard replicas move to the other nodes.
    RemoveNode {
        /// The node's id.
        node: NodeId,
    },
}

/// The Prometheus API envelope.
#[derive(Debug, serde::Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

pub fn run(args: CtlArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        let base = args.url.trim_end_matches('/');
        match args.command {
            CtlCommand::Status => {
                let url = format!("{base}/api/v1/status/cluster");
                let status: ClusterStatus = call(client.get(&url), &url).await?;
                print!("{}", render_status(&status));
            }
            CtlCommand::RemoveNode { node } => {
                let url = format!("{base}/api/v1/admin/nodes/{node}/remove");
                let _: serde_json::Value = call(client.post(&url), &url).await?;
                println!(
                    "node {node} is being removed: its replicas move to other nodes first (follow with `skyview ctl status`)"
                );
            }
        }
        Ok(())
    })
}

async fn call<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> anyhow::Result<T> {
    let response = request
        .send()
        .await
        .with_context(|| format!("requesting {url}"))?;
    let code = response.status();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    let envelope: Envelope<T> = serde_json::from_slice(&body).with_context(|| {
        format!(
            "{url} answered {code} with a body that is not the API's JSON: {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    match (envelope.status.as_str(), envelope.data) {
        ("success", Some(data)) => Ok(data),
        _ => bail!(
            "{url} answered {code}: {}",
            envelope.error.unwrap_or_else(|| "no error message".into())
        ),
    }
}

/// The status as tables: nodes, then the meta group and every shard.
fn render_status(status: &ClusterStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cluster of {} nodes, {} shards (answered by node {})\n",
        status.nodes.len(),
        status.shards_total,
        status.node_id
    );
    let _ = writeln!(out, "{:<6} {:<32} {:<8} STATE", "NODE", "URL", "VOTER");
    for node in &status.nodes {
        let state = if node.leaving { "leaving" } else { "member" };
        let _ = writeln!(
            out,
            "{:<6} {:<32} {:<8} {}",
            node.id,
            node.url,
            if node.voter { "yes" } else { "no" },
            state
        );
    }
    let _ = writeln!(
        out,
        "\n{:<8} {:<12} {:<8} {:<6} {:<10} {:<10} REPLICAS",
        "GROUP", "PLACEMENT", "LEADER", "TERM", "COMMIT", "APPLIED"
    );
    let _ = writeln!(
        out,
        "{}",
        group_row("meta", "all", Some(&status.meta), None)
    );
    for shard in &status.shards {
        let placement = shard
            .placement
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(
            out,
            "{}",
            group_row(
                &shard.shard.to_string(),
                &placement,
                shard.group.as_ref(),
                shard.error.as_deref()
            )
        );
    }
    out
}

fn group_row(
    name: &str,
    placement: &str,
    group: Option<&GroupStatus>,
    error: Option<&str>,
) -> String {
    let Some(g) = group else {
        return format!(
            "{name:<8} {placement:<12} {:<8} {:<6} {:<10} {:<10} {}",
            "-",
            "-",
            "-",
            "-",
            error.unwrap_or("no replica answered")
        );
    };
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let replicas = if g.replicas.is_empty() {
        "-".to_owned()
    } else {
        g.replicas
            .iter()
            .map(|r| {
                let health = if r.healthy { "ok" } else { "lagging" };
                format!("{}:{health}(lag {})", r.node, r.lag)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "{name:<8} {placement:<12} {:<8} {:<6} {:<10} {:<10} {replicas}",
        opt(g.leader),
        g.term,
        opt(g.committed_index),
        opt(g.applied_index),
    )
}

#[cfg(test)]
mod tests {
    use skyview_raft::node::{NodeStatus, ReplicaStatus, ShardStatus};

    use super::*;

    #[test]
    fn renders_nodes_and_groups() {
        let group = GroupStatus {
            reported_by: 1,
            leader: Some(2),
            term: 4,
            committed_index: Some(120),
            applied_index: Some(119),
            last_log_index: Some(120),
            snapshot_index: None,
            replicas: vec![ReplicaStatus {
                node: 3,
                voter: true,
                matched_index: Some(10),
                lag: 110,
                healthy: true,
            }],
        };
        let status = ClusterStatus {
            node_id: 1,
            shards_total: 2,
            nodes: vec![NodeStatus {
                id: 1,
                url: "http://127.0.0.1:9201".into(),
                voter: true,
                leaving: false,
            }],
            meta: group.clone(),
            shards: vec![
                ShardStatus {
                    shard: 1,
                    placement: vec![1, 2, 3],
                    group: Some(group),
                    error: None,
                },
                ShardStatus {
                    shard: 2,
                    placement: vec![2],
                    group: None,
                    error: Some("no leader".into()),
                },
            ],
        };
        let text = render_status(&status);
        assert!(text.contains("cluster of 1 nodes, 2 shards"), "{text}");
        assert!(text.contains("http://127.0.0.1:9201"), "{text}");
        let groups = &text[text.find("GROUP").unwrap()..];
        assert!(
            groups.lines().nth(1).unwrap().starts_with("meta "),
            "{groups}"
        );
        let shard1 = groups.lines().find(|l| l.starts_with("1 ")).unwrap();
        assert!(
            shard1.contains("1,2,3") && shard1.contains("3:ok(lag 110)"),
            "{shard1}"
        );
        let shard2 = groups.lines().find(|l| l.starts_with("2 ")).unwrap();
        assert!(shard2.ends_with("no leader"), "{shard2}");
    }
}
