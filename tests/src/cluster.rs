//! A receiver cluster inside the test's own process: N [`Node`]s, each served by the api
//! crate's router on an ephemeral 127.0.0.1 port, in the test's tokio runtime.
//!
//! It complements the multi-process [`ReceiverCluster`](crate::receiver::ReceiverCluster): no
//! binary to build, typed access to each [`Node`], and limits set as a [`ReceiverLimits`] value.
//! Peers still talk over real HTTP, so replication, forwarding and the routes are the
//! production ones. A node cannot be SIGKILLed in process; it is stopped (its server finishes
//! the requests in flight, then [`Node::shutdown`]) and restarted with the same address and
//! data directory, which must bring back everything it had acknowledged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use skyview_api::receiver::{serve, QueryConfig, ReceiverLimits};
use skyview_raft::node::{Node, NodeConfig};
use skyview_storage::tsdb::TsdbOptions;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::readiness::STARTUP_TIMEOUT;
use crate::receiver_status::{fetch_status, ClusterView};
use crate::wait::wait_until;

/// How long a stopped node's server may take to finish its requests in flight.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the last references to a stopped node may linger (its background tasks ending):
/// its RocksDB instances are closed only when the `Node` is dropped, and a restart needs them.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// A node served in this process.
#[derive(Debug)]
struct Served {
    node: Arc<Node>,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

#[derive(Debug)]
struct ClusterNode {
    addr: SocketAddr,
    config: NodeConfig,
    served: Option<Served>,
}

/// An in-process receiver cluster; see the module documentation.
#[derive(Debug)]
pub struct InProcessCluster {
    // Field order matters: the nodes are dropped before their directory is removed.
    nodes: BTreeMap<u64, ClusterNode>,
    limits: ReceiverLimits,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl InProcessCluster {
    /// Starts `nodes` nodes (ids `1..=nodes`) with `shards` shards and replication factor `rf`
    /// and the default limits, and waits until each answers `/-/ready`.
    pub async fn start(nodes: u64, shards: u32, rf: usize) -> Result<Self> {
        Self::start_with(nodes, shards, rf, ReceiverLimits::default()).await
    }

    /// Like [`Self::start`] with the given write limits.
    pub async fn start_with(
        nodes: u64,
        shards: u32,
        rf: usize,
        limits: ReceiverLimits,
    ) -> Result<Self> {
        if nodes == 0 {
            bail!("a cluster needs at least one node");
        }
        let dir = tempfile::tempdir().context("creating the cluster's directory")?;
        // Every listener is bound first: the addresses go into every node's initial cluster.
        let mut listeners = BTreeMap::new();
        for id in 1..=nodes {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            listeners.insert(id, listener);
        }
        let initial_cluster: BTreeMap<u64, String> = listeners
            .iter()
            .map(|(id, l)| Ok((*id, format!("http://{}", l.local_addr()?))))
            .collect::<Result<_>>()?;
        let mut cluster = Self {
            nodes: BTreeMap::new(),
            limits,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            dir,
        };
        for (id, listener) in listeners {
            let addr = listener.local_addr()?;
            let config = NodeConfig {
                node_id: id,
                advertise_url: initial_cluster[&id].clone(),
                data_dir: cluster.data_dir_path(id),
                initial_cluster: initial_cluster.clone(),
                join: None,
                shards,
                replication_factor: rf,
                tsdb: TsdbOptions::default(),
            };
            let served = serve_node(config.clone(), listener, cluster.limits.clone()).await?;
            cluster.nodes.insert(
                id,
                ClusterNode {
                    addr,
                    config,
                    served: Some(served),
                },
            );
        }
        for id in 1..=nodes {
            cluster.wait_ready(id).await?;
        }
        Ok(cluster)
    }

    fn data_dir_path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    fn cluster_node(&self, id: u64) -> &ClusterNode {
        self.nodes
            .get(&id)
            .unwrap_or_else(|| panic!("no node {id} in this cluster"))
    }

    fn cluster_node_mut(&mut self, id: u64) -> Result<&mut ClusterNode> {
        self.nodes
            .get_mut(&id)
            .with_context(|| format!("no node {id} in this cluster"))
    }

    /// Waits until `node` answers 200 on `/-/ready`.
    pub async fn wait_ready(&self, node: u64) -> Result<()> {
        let url = format!("{}/-/ready", self.url(node));
        wait_until(&format!("node {node} to be ready"), STARTUP_TIMEOUT, || {
            let request = self.http.get(&url).send();
            let url = &url;
            async move {
                let response = request.await?;
                if response.status().is_success() {
                    Ok(Some(()))
                } else {
                    bail!("{url} answered {}", response.status())
                }
            }
        })
        .await
    }

    /// Every node id, running or not.
    pub fn node_ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }

    /// The node's base URL, `http://127.0.0.1:port` (the same across restarts).
    pub fn url(&self, node: u64) -> String {
        format!("http://{}", self.cluster_node(node).addr)
    }

    /// The base URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.node_ids().into_iter().map(|id| self.url(id)).collect()
    }

    /// The running node `id`, for direct calls.
    pub fn node(&self, id: u64) -> Option<Arc<Node>> {
        self.cluster_node(id)
            .served
            .as_ref()
            .map(|s| Arc::clone(&s.node))
    }

    /// The node's data directory.
    pub fn data_dir(&self, node: u64) -> &Path {
        &self.cluster_node(node).config.data_dir
    }

    /// Stops `node`: its server finishes the requests in flight, then the node shuts its Raft
    /// groups down and is dropped (closing its databases). Its peers see it vanish.
    pub async fn stop(&mut self, node: u64) -> Result<()> {
        let Some(served) = self.cluster_node_mut(node)?.served.take() else {
            return Ok(());
        };
        stop_served(node, served).await
    }

    /// Starts the stopped `node` again on the same address and data directory, and waits until
    /// it is ready.
    pub async fn restart(&mut self, node: u64) -> Result<()> {
        let limits = self.limits.clone();
        let entry = self.cluster_node_mut(node)?;
        if entry.served.is_some() {
            bail!("node {node} is running; stop it before restarting");
        }
        let listener = TcpListener::bind(entry.addr)
            .await
            .with_context(|| format!("binding {} again for node {node}", entry.addr))?;
        entry.served = Some(serve_node(entry.config.clone(), listener, limits).await?);
        self.wait_ready(node).await
    }

    /// `/api/v1/status/cluster` as seen by `node`.
    pub async fn status_from(&self, node: u64) -> Result<ClusterView> {
        fetch_status(&self.http, &self.url(node)).await
    }

    /// `/api/v1/status/cluster` from the first running node that answers.
    pub async fn status(&self) -> Result<ClusterView> {
        let mut last_error = None;
        for (id, entry) in &self.nodes {
            if entry.served.is_none() {
                continue;
            }
            match self.status_from(*id).await {
                Ok(view) => return Ok(view),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no node of the cluster is running")))
    }

    /// The current leader of `shard`, as the status reports it.
    pub async fn shard_leader(&self, shard: u32) -> Result<Option<u64>> {
        self.status().await?.shard_leader(shard)
    }

    /// Stops every node cleanly (dropping the cluster also stops them, without waiting).
    pub async fn shutdown(mut self) -> Result<()> {
        for id in self.node_ids() {
            self.stop(id).await?;
        }
        Ok(())
    }
}

/// Starts a node and serves it on `listener`.
async fn serve_node(
    config: NodeConfig,
    listener: TcpListener,
    limits: ReceiverLimits,
) -> Result<Served> {
    let id = config.node_id;
    let node = Node::start(config)
        .await
        .with_context(|| format!("starting node {id}"))?;
    let (stop_server, stopped) = oneshot::channel::<()>();
    let query = QueryConfig::default();
    let server = tokio::spawn(serve(
        listener,
        Arc::clone(&node),
        limits,
        query,
        async move {
            // A dropped sender (the cluster dropped) also stops the server.
            let _ = stopped.await;
        },
    ));
    Ok(Served {
        node,
        stop_server,
        server,
    })
}

async fn stop_served(id: u64, served: Served) -> Result<()> {
    let Served {
        node,
        stop_server,
        mut server,
    } = served;
    // The server may already have ended, which is what stopping it wants anyway.
    let _ = stop_server.send(());
    match tokio::time::timeout(SERVER_STOP_TIMEOUT, &mut server).await {
        Ok(result) => result
            .with_context(|| format!("node {id}'s server task panicked"))?
            .with_context(|| format!("node {id}'s server failed"))?,
        Err(_) => {
            // Connections that outlive the deadline are cut, as a crash would cut them.
            server.abort();
        }
    }
    node.shutdown().await;
    wait_until(
        &format!("the last references to node {id} to be released"),
        RELEASE_TIMEOUT,
        || {
            let count = Arc::strong_count(&node);
            async move {
                if count == 1 {
                    Ok(Some(()))
                } else {
                    bail!("{count} references to node {id} remain after shutdown")
                }
            }
        },
    )
    .await?;
    drop(node);
    Ok(())
}
