//! `skyview receiver`: one node of the receiver cluster. `--initial-cluster` follows etcd's
//! `id=url,...`; the `--storage.*` flags are named like Prometheus's, the `--write.*` flags
//! bound what one remote-write request may make the node do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use skyview_actors::config::{ByteSize, PromDuration};
use skyview_api::receiver::{self, BuildInfo, CorsOrigin, QueryConfig, ReceiverLimits};
use skyview_raft::node::{Node, NodeConfig};
use skyview_raft::type_config::NodeId;
use skyview_storage::tsdb::TsdbOptions;
use tokio::signal::unix::{signal, SignalKind};

/// Every receiver flag. Defaults are the documented ones of `ReceiverLimits` and `TsdbOptions`.
#[derive(Debug, Clone, Args)]
pub struct ReceiverArgs {
    /// This node's id: unique in the cluster, never reused after the node is removed.
    #[arg(long = "node-id")]
    pub node_id: NodeId,

    /// Address the HTTP server (remote write, status, peers' RPCs) listens on.
    #[arg(long = "listen-address", default_value = "0.0.0.0:9201")]
    pub listen_address: SocketAddr,

    /// URL peers reach this node at. Default: this node's entry in --initial-cluster, else
    /// http://<listen-address>.
    #[arg(long = "advertise-url")]
    pub advertise_url: Option<String>,

    /// Data directory: raft/ (Raft logs), tsdb/ (samples), snapshots/.
    #[arg(long = "data-dir", default_value = "data-receiver/")]
    pub data_dir: PathBuf,

    /// The nodes of a new cluster, `1=http://h1:9201,2=http://h2:9201,...` (etcd's form).
    /// Default: this node alone. Ignored once the data dir holds a cluster.
    #[arg(long = "initial-cluster", value_parser = parse_initial_cluster)]
    pub initial_cluster: Option<BTreeMap<NodeId, String>>,

    /// URL of any running node, to join an existing cluster.
    #[arg(long = "join")]
    pub join: Option<String>,

    /// Number of shards of a new cluster (fixed when the cluster is created).
    #[arg(long = "shards", default_value_t = skyview_raft::node::config::DEFAULT_SHARDS)]
    pub shards: u32,

    /// Replicas per shard; capped at the number of nodes of --initial-cluster.
    #[arg(long = "replication-factor", default_value_t = skyview_raft::node::config::DEFAULT_REPLICATION_FACTOR)]
    pub replication_factor: usize,

    /// How long samples are kept, back from each shard's newest sample (e.g. 15d).
    #[arg(long = "storage.retention", default_value = "15d", value_parser = parse_duration)]
    pub retention: Duration,

    /// How far behind a shard's newest sample a sample is still accepted (e.g. 1h).
    #[arg(long = "storage.out-of-order-window", default_value = "1h", value_parser = parse_duration)]
    pub out_of_order_window: Duration,

    /// Largest compressed remote-write body (e.g. 32MB).
    #[arg(long = "write.max-body-size", default_value = "32MB", value_parser = parse_size)]
    pub max_body_size: usize,

    /// Largest decompressed remote-write body, checked before decompressing (e.g. 100MB).
    #[arg(long = "write.max-decoded-size", default_value = "100MB", value_parser = parse_size)]
    pub max_decoded_size: usize,

    /// Most labels per series, __name__ included.
    #[arg(long = "write.max-labels-per-series", default_value_t = 30)]
    pub max_labels_per_series: usize,

    /// Longest label name in bytes.
    #[arg(long = "write.max-label-name-length", default_value_t = 1024)]
    pub max_label_name_length: usize,

    /// Longest label value in bytes.
    #[arg(long = "write.max-label-value-length", default_value_t = 2048)]
    pub max_label_value_length: usize,

    /// How far ahead of this node's clock a sample timestamp may be (e.g. 10m).
    #[arg(long = "write.max-future", default_value = "10m", value_parser = parse_duration)]
    pub max_future: Duration,

    /// Largest peer RPC body (e.g. 4GB): Raft appends of up to 32 group-committed entries.
    #[arg(long = "internal.max-body-size", default_value = "4GB", value_parser = parse_size)]
    pub max_internal_body_size: usize,

    /// Origins whose browser pages may read the query API: a regular expression, fully
    /// anchored (Prometheus's `--web.cors.origin`).
    #[arg(long = "web.cors.origin", default_value = ".*", value_parser = parse_cors_origin)]
    pub cors_origin: CorsOrigin,

    /// Longest a query may take, queueing included (Prometheus's `--query.timeout`).
    #[arg(long = "query.timeout", default_value = "2m", value_parser = parse_duration)]
    pub query_timeout: Duration,

    /// Most samples a query may hold in memory at once (Prometheus's `--query.max-samples`).
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub query_max_samples: usize,

    /// Queries evaluated at once; more wait (Prometheus's `--query.max-concurrency`).
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub query_max_concurrency: usize,

    /// How far back an instant selector looks for a sample (Prometheus's
    /// `--query.lookback-delta`).
    #[arg(long = "query.lookback-delta", default_value = "5m", value_parser = parse_duration)]
    pub query_lookback_delta: Duration,

    /// Most samples one remote-read response may carry; 0 for no limit (Prometheus's
    /// `--storage.remote.read-sample-limit`).
    #[arg(
        long = "storage.remote.read-sample-limit",
        default_value_t = 50_000_000
    )]
    pub remote_read_sample_limit: usize,

    /// Remote reads served at once, more wait; 0 for no limit (Prometheus's
    /// `--storage.remote.read-concurrent-limit`).
    #[arg(long = "storage.remote.read-concurrent-limit", default_value_t = 10)]
    pub remote_read_concurrent_limit: usize,
}

/// `1=http://h1:9201,2=http://h2:9201`.
pub fn parse_initial_cluster(s: &str) -> Result<BTreeMap<NodeId, String>, String> {
    let mut nodes = BTreeMap::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {entry:?}: expected <node-id>=<url>"))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| format!("entry {entry:?}: node id {id:?} is not an integer"))?;
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "entry {entry:?}: URL {url:?} must start with http:// or https://"
            ));
        }
        if nodes.insert(id, url.to_owned()).is_some() {
            return Err(format!("node id {id} is listed twice"));
        }
    }
    if nodes.is_empty() {
        return Err("no node listed: expected <node-id>=<url>,...".into());
    }
    Ok(nodes)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    PromDuration::parse(s).map(PromDuration::as_duration)
}

fn parse_cors_origin(s: &str) -> Result<CorsOrigin, String> {
    CorsOrigin::parse(s).map_err(|e| format!("invalid regular expression {s:?}: {e}"))
}

fn parse_size(s: &str) -> Result<usize, String> {
    let bytes = ByteSize::parse(s)?.0;
    usize::try_from(bytes).map_err(|_| format!("{s:?} is too large for this platform"))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl ReceiverArgs {
    /// Every flag at its default, for node `node_id` (as if only `--node-id` were given).
    pub fn defaults(node_id: NodeId) -> ReceiverArgs {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            args: ReceiverArgs,
        }
        <Only as clap::Parser>::parse_from(["skyview", "--node-id", &node_id.to_string()]).args
    }

    /// The node's configuration: advertise URL resolved, RF capped at the node count.
    pub fn node_config(&self) -> anyhow::Result<NodeConfig> {
        let advertise_url = match (&self.advertise_url, &self.initial_cluster) {
            (Some(url), _) => url.clone(),
            (None, Some(cluster)) if cluster.contains_key(&self.node_id) => {
                cluster[&self.node_id].clone()
            }
            (None, _) if self.listen_address.ip().is_unspecified() => anyhow::bail!(
                "--advertise-url is needed: --listen-address {} is not an address peers can \
                 reach, and --initial-cluster does not list node {}",
                self.listen_address,
                self.node_id
            ),
            (None, _) => format!("http://{}", self.listen_address),
        };
        let initial_cluster = match &self.initial_cluster {
            Some(cluster) => cluster.clone(),
            None if self.join.is_some() => BTreeMap::new(),
            None => BTreeMap::from([(self.node_id, advertise_url.clone())]),
        };
        let replication_factor = if self.join.is_none() {
            self.replication_factor.min(initial_cluster.len().max(1))
        } else {
            self.replication_factor
        };
        Ok(NodeConfig {
            node_id: self.node_id,
            advertise_url,
            data_dir: self.data_dir.clone(),
            initial_cluster,
            join: self.join.clone(),
            shards: self.shards,
            replication_factor,
            tsdb: TsdbOptions {
                out_of_order_window_ms: millis(self.out_of_order_window),
                retention_ms: millis(self.retention),
            },
        })
    }

    /// The write path's and remote read's limits.
    pub fn limits(&self) -> ReceiverLimits {
        ReceiverLimits {
            max_body_bytes: self.max_body_size,
            max_decoded_bytes: self.max_decoded_size,
            max_labels_per_series: self.max_labels_per_series,
            max_label_name_len: self.max_label_name_length,
            max_label_value_len: self.max_label_value_length,
            max_future_ms: millis(self.max_future),
            max_internal_body_bytes: self.max_internal_body_size,
            remote_read_sample_limit: self.remote_read_sample_limit,
            remote_read_concurrency: self.remote_read_concurrent_limit,
        }
    }
}

impl ReceiverArgs {
    /// The query API's configuration: the `--query.*` limits, and what the status endpoints
    /// report. The version is Prometheus's whose API is served, so Grafana enables its
    /// features, with Skyview's own as a pre-release tag.
    pub fn query_config(&self) -> QueryConfig {
        let mut config = QueryConfig {
            max_concurrency: self.query_max_concurrency,
            build_info: BuildInfo::new(concat!("2.42.0-skyview.", env!("CARGO_PKG_VERSION"))),
            storage_retention: humantime_short(self.retention),
            cors_origin: self.cors_origin.clone(),
            ..QueryConfig::default()
        };
        config.engine.timeout = self.query_timeout;
        config.engine.max_samples = self.query_max_samples;
        config.engine.lookback_delta = self.query_lookback_delta;
        let flags = [
            ("query.timeout", humantime_short(self.query_timeout)),
            ("query.max-samples", self.query_max_samples.to_string()),
            (
                "query.max-concurrency",
                self.query_max_concurrency.to_string(),
            ),
            (
                "query.lookback-delta",
                humantime_short(self.query_lookback_delta),
            ),
            ("storage.retention", humantime_short(self.retention)),
            ("web.cors.origin", self.cors_origin.to_string()),
            (
                "storage.remote.read-sample-limit",
                self.remote_read_sample_limit.to_string(),
            ),
            (
                "storage.remote.read-concurrent-limit",
                self.remote_read_concurrent_limit.to_string(),
            ),
            ("shards", self.shards.to_string()),
            ("replication-factor", self.replication_factor.to_string()),
        ];
        config.flags = flags
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        config
    }
}

/// A duration as Prometheus prints one (`2m`, `15d`, `90s`): the largest unit that divides it.
fn humantime_short(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A node serving HTTP: stopped with [`RunningNode::stop`].
pub struct RunningNode {
    pub node: Arc<Node>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningNode {
    /// Binds the listener, starts the node (bootstrap or join happen in the background), and
    /// serves its router.
    pub async fn start(args: &ReceiverArgs) -> anyhow::Result<RunningNode> {
        let config = args.node_config()?;
        let listener = tokio::net::TcpListener::bind(args.listen_address)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen_address))?;
        let node = Node::start(config)
            .await
            .with_context(|| format!("starting node {}", args.node_id))?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(receiver::serve(
            listener,
            node.clone(),
            args.limits(),
            args.query_config(),
            async move {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            },
        ));
        tracing::info!(
            node_id = args.node_id,
            listen = %args.listen_address,
            data_dir = %args.data_dir.display(),
            "skyview receiver started"
        );
        Ok(RunningNode { node, stop, server })
    }

    /// Stops taking requests, lets those in flight finish, then shuts the node down.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let served = self.server.await;
        self.node.shutdown().await;
        served
            .context("HTTP server task failed")?
            .context("HTTP server failed")
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn termination() -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

pub fn run(args: ReceiverArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let running = RunningNode::start(&args).await?;
        termination().await?;
        tracing::info!("skyview receiver stopping");
        running.stop().await
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReceiverArgs,
    }

    fn parse(flags: &[&str]) -> Result<ReceiverArgs, String> {
        Cli::try_parse_from(std::iter::once("skyview").chain(flags.iter().copied()))
            .map(|c| c.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn initial_cluster_parses_and_rf_is_capped() {
        let args = parse(&[
            "--node-id",
            "2",
            "--initial-cluster",
            "1=http://a:1, 2=http://b:2",
            "--storage.retention",
            "2h",
        ])
        .unwrap();
        let config = args.node_config().unwrap();
        assert_eq!(config.advertise_url, "http://b:2");
        assert_eq!(config.initial_cluster.len(), 2);
        assert_eq!(config.replication_factor, 2, "RF 3 capped at 2 nodes");
        assert_eq!(config.shards, 16);
        assert_eq!(config.tsdb.retention_ms, 2 * 3600 * 1000);
        assert_eq!(args.limits(), ReceiverLimits::default());
    }

    #[test]
    fn a_lone_node_defaults_to_itself() {
        let args = parse(&["--node-id", "7", "--listen-address", "127.0.0.1:9300"]).unwrap();
        let config = args.node_config().unwrap();
        assert_eq!(config.advertise_url, "http://127.0.0.1:9300");
        assert_eq!(
            config.initial_cluster,
            BTreeMap::from([(7, "http://127.0.0.1:9300".to_owned())])
        );
        assert_eq!(config.replication_factor, 1);
        let args = parse(&["--node-id", "7"]).unwrap();
        assert!(args.node_config().is_err(), "0.0.0.0 is not advertisable");
    }

    #[test]
    fn parse_errors_name_the_flag() {
        for (flags, flag) in [
            (
                &["--node-id", "1", "--initial-cluster", "1:http://a"][..],
                "--initial-cluster",
            ),
            (
                &["--node-id", "1", "--initial-cluster", "1=a:1"][..],
                "--initial-cluster",
            ),
            (
                &[
                    "--node-id",
                    "1",
                    "--initial-cluster",
                    "1=http://a,1=http://b",
                ][..],
                "--initial-cluster",
            ),
            (
                &["--node-id", "1", "--storage.retention", "15x"][..],
                "--storage.retention",
            ),
            (
                &["--node-id", "1", "--write.max-body-size", "lots"][..],
                "--write.max-body-size",
            ),
            (
                &["--node-id", "1", "--web.cors.origin", "(a"][..],
                "--web.cors.origin",
            ),
            (&["--node-id", "x"][..], "--node-id"),
        ] {
            let err = parse(flags).unwrap_err();
            assert!(err.contains(flag), "{flags:?}: {err}");
        }
    }
}
