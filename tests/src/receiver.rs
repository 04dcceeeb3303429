//! A multi-process receiver cluster: one `skyview receiver` child process per node, driven
//! from outside through its command line and HTTP endpoints only.
//!
//! Node ids are `1..=n`; each node listens on an ephemeral loopback port and keeps its data
//! under `<dir>/node-<id>` (`raft/`, `tsdb/`, `snapshots/` inside, as the receiver lays them
//! out). The initial nodes are started together with the same `--initial-cluster`, then each
//! is waited on until `/-/ready` answers 200 (meta leader known, every shard led). A node can
//! be killed with SIGKILL, stopped with SIGTERM and restarted on the same address and data
//! directory, which is what the failover and catch-up tests need; [`ReceiverCluster::join`]
//! adds a node with `--join`. Every process dies with the cluster handle.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::ports::free_loopback_addr;
use crate::process::ChildProcess;
use crate::readiness::wait_ready;
use crate::receiver_status::{fetch_status, ClusterView};
use crate::skyview::skyview_binary;

/// How long a clean shutdown may take (every Raft group shuts down, the TSDB flushes).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The shape of a cluster to start.
#[derive(Clone, Debug)]
pub struct ReceiverOptions {
    /// Number of initial nodes (ids `1..=nodes`).
    pub nodes: u64,
    /// `--shards`.
    pub shards: u32,
    /// `--replication-factor`.
    pub replication_factor: usize,
    /// Extra flags given to every node (e.g. write limits).
    pub extra_args: Vec<String>,
}

impl ReceiverOptions {
    pub fn new(nodes: u64, shards: u32, replication_factor: usize) -> Self {
        Self {
            nodes,
            shards,
            replication_factor,
            extra_args: Vec::new(),
        }
    }

    /// Adds a flag (`--name=value`) given to every node.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }
}

/// One `skyview receiver` process.
#[derive(Debug)]
struct ReceiverNode {
    addr: SocketAddr,
    data_dir: PathBuf,
    process: ChildProcess,
}

impl ReceiverNode {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let url = format!("{}/-/ready", self.url());
        wait_ready(&mut self.process, &url).await
    }
}

/// A running receiver cluster of child processes; see the module documentation.
#[derive(Debug)]
pub struct ReceiverCluster {
    // Field order matters: the processes die before their directory is removed.
    nodes: BTreeMap<u64, ReceiverNode>,
    options: ReceiverOptions,
    http: reqwest::Client,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl ReceiverCluster {
    /// Starts `nodes` nodes with `shards` shards and replication factor `rf` in a fresh
    /// temporary directory, and waits until every node is ready.
    pub async fn start(nodes: u64, shards: u32, rf: usize) -> Result<Self> {
        Self::start_with(ReceiverOptions::new(nodes, shards, rf)).await
    }

    /// Like [`Self::start`] with extra flags.
    pub async fn start_with(options: ReceiverOptions) -> Result<Self> {
        let temp = tempfile::tempdir().context("creating the cluster's directory")?;
        let dir = temp.path().to_owned();
        Self::launch(dir, Some(temp), options).await
    }

    /// Like [`Self::start_with`], keeping the data and logs under `dir` (which outlives the
    /// cluster: useful to inspect a failure, or for a benchmark measuring disk usage).
    pub async fn start_in(dir: &Path, options: ReceiverOptions) -> Result<Self> {
        Self::launch(dir.to_owned(), None, options).await
    }

    async fn launch(
        dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        options: ReceiverOptions,
    ) -> Result<Self> {
        if options.nodes == 0 {
            bail!("a cluster needs at least one node");
        }
        let addrs: BTreeMap<u64, SocketAddr> = (1..=options.nodes)
            .map(|id| Ok((id, free_loopback_addr()?)))
            .collect::<Result<_>>()?;
        let initial_cluster = addrs
            .iter()
            .map(|(id, addr)| format!("{id}=http://{addr}"))
            .collect::<Vec<_>>()
            .join(",");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut cluster = Self {
            nodes: BTreeMap::new(),
            options,
            http,
            dir,
            _temp: temp,
        };
        for (&id, &addr) in &addrs {
            let membership = format!("--initial-cluster={initial_cluster}");
            cluster.spawn(id, addr, membership)?;
        }
        // All are spawned before any is awaited: none is ready without a quorum.
        for node in cluster.nodes.values_mut() {
            node.wait_ready().await?;
        }
        Ok(cluster)
    }

    fn spawn(&mut self, id: u64, addr: SocketAddr, membership: String) -> Result<()> {
        let binary = skyview_binary()?;
        let data_dir = self.dir.join(format!("node-{id}"));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let mut args = vec![
            "receiver".to_owned(),
            format!("--node-id={id}"),
            format!("--listen-address={addr}"),
            format!("--data-dir={}", data_dir.display()),
            membership,
            format!("--shards={}", self.options.shards),
            format!("--replication-factor={}", self.options.replication_factor),
        ];
        args.extend(self.options.extra_args.iter().cloned());
        let log = self.dir.join(format!("receiver-{id}.log"));
        let process = ChildProcess::spawn(&format!("receiver-{id}"), &binary, args, log)?;
        self.nodes.insert(
            id,
            ReceiverNode {
                addr,
                data_dir,
                process,
            },
        );
        Ok(())
    }

    /// Starts a new node (the next id) with `--join` pointing at `via`, and waits until it is
    /// ready. Returns its id.
    pub async fn join(&mut self, via: u64) -> Result<u64> {
        let via_url = self.url(via);
        let id = self.nodes.keys().next_back().map_or(1, |last| last + 1);
        let addr = free_loopback_addr()?;
        self.spawn(id, addr, format!("--join={via_url}"))?;
        self.node_mut(id)?.wait_ready().await?;
        Ok(id)
    }

    fn node(&self, id: u64) -> &ReceiverNode {
        self.nodes
            .get(&id)
            .unwrap_or_else(|| panic!("no receiver node {id} in this cluster"))
    }

    fn node_mut(&mut self, id: u64) -> Result<&mut ReceiverNode> {
        self.nodes
            .get_mut(&id)
            .with_context(|| format!("no receiver node {id} in this cluster"))
    }

    /// Every node id, running or not.
    pub fn node_ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }

    /// The ids of the nodes whose process runs.
    pub fn running(&mut self) -> Vec<u64> {
        self.nodes
            .iter_mut()
            .filter_map(|(id, node)| node.process.is_running().then_some(*id))
            .collect()
    }

    pub fn shards(&self) -> u32 {
        self.options.shards
    }

    pub fn replication_factor(&self) -> usize {
        self.options.replication_factor
    }

    /// The node's base URL, `http://127.0.0.1:port` (valid across restarts).
    pub fn url(&self, node: u64) -> String {
        self.node(node).url()
    }

    /// The base URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.values().map(ReceiverNode::url).collect()
    }

    pub fn pid(&self, node: u64) -> Option<u32> {
        self.node(node).process.pid()
    }

    /// The node's `--data-dir`.
    pub fn data_dir(&self, node: u64) -> PathBuf {
        self.node(node).data_dir.clone()
    }

    /// The directory holding every node's data and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node's log so far.
    pub fn log_text(&self, node: u64) -> Result<String> {
        self.node(node).process.log_text()
    }

    /// Kills the node with SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self, node: u64) -> Result<()> {
        self.node_mut(node)?.process.kill9()
    }

    /// Stops the node cleanly (SIGTERM, SIGKILL if it lingers).
    pub async fn stop(&mut self, node: u64) -> Result<()> {
        self.node_mut(node)?.process.terminate(STOP_TIMEOUT).await
    }

    /// Starts the stopped or killed node again with the same flags, address and data, and waits
    /// until it is ready.
    pub async fn restart(&mut self, node: u64) -> Result<()> {
        let node = self.node_mut(node)?;
        node.process.restart()?;
        node.wait_ready().await
    }

    /// `/api/v1/status/cluster` as seen by `node`.
    pub async fn status_from(&self, node: u64) -> Result<ClusterView> {
        fetch_status(&self.http, &self.url(node)).await
    }

    /// `/api/v1/status/cluster` from the first node that answers.
    pub async fn status(&self) -> Result<ClusterView> {
        let mut last_error = None;
        for url in self.urls() {
            match fetch_status(&self.http, &url).await {
                Ok(view) => return Ok(view),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the cluster has no node")))
    }

    /// The current leader of `shard`, as the status reports it.
    pub async fn shard_leader(&self, shard: u32) -> Result<Option<u64>> {
        self.status().await?.shard_leader(shard)
    }
}
