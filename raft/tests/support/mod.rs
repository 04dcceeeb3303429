//! A whole receiver cluster in one process: nodes talk through an in-process transport that
//! calls the target node's `handle_internal` directly (the HTTP router lives in the api crate),
//! and a node can be cut off to simulate a crash or a partition.

#![allow(dead_code)] // Each test file uses a different part of the harness.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use skyview_raft::network::transport::{Transport, TransportError};
use skyview_raft::node::{Node, NodeConfig};
use skyview_raft::type_config::NodeId;
use skyview_raft::write_batch::{BatchIdentity, Sample, SeriesSamples, WriteBatch};

/// Routes internal RPCs to nodes of this process by their URL.
#[derive(Debug, Default)]
pub struct InProcessNetwork {
    nodes: Mutex<HashMap<String, Weak<Node>>>,
    cut: Mutex<HashSet<String>>,
}

impl InProcessNetwork {
    pub fn register(&self, url: &str, node: &Arc<Node>) {
        self.nodes
            .lock()
            .unwrap()
            .insert(url.to_owned(), Arc::downgrade(node));
    }

    /// Make `url` unreachable (both ways: its own requests fail too).
    pub fn cut(&self, url: &str) {
        self.cut.lock().unwrap().insert(url.to_owned());
    }

    pub fn heal(&self, url: &str) {
        self.cut.lock().unwrap().remove(url);
    }
}

/// One node's view of the network: requests from a cut node fail as well.
#[derive(Debug)]
pub struct NodeTransport {
    network: Arc<InProcessNetwork>,
    own_url: String,
}

impl Transport for NodeTransport {
    fn post(
        &self,
        base_url: &str,
        path: String,
        body: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Bytes, TransportError>> {
        let url = format!("{base_url}/internal/{path}");
        let cut = {
            let cut = self.network.cut.lock().unwrap();
            cut.contains(base_url) || cut.contains(&self.own_url)
        };
        let target = self.network.nodes.lock().unwrap().get(base_url).cloned();
        async move {
            let unreachable = |reason: &str| TransportError::Unreachable {
                url: url.clone(),
                reason: reason.to_owned(),
            };
            if cut {
                return Err(unreachable("cut off"));
            }
            let node = target
                .and_then(|weak| weak.upgrade())
                .ok_or_else(|| unreachable("no such node"))?;
            match tokio::time::timeout(timeout, node.handle_internal(&path, body)).await {
                Err(_) => Err(TransportError::Timeout {
                    url: url.clone(),
                    timeout,
                }),
                Ok(Ok(reply)) => Ok(Bytes::from(reply)),
                Ok(Err(e)) => Err(TransportError::Status {
                    url: url.clone(),
                    status: if e.is_retryable() { 503 } else { 400 },
                    body: e.to_string(),
                }),
            }
        }
        .boxed()
    }
}

pub fn url(id: NodeId) -> String {
    format!("http://node-{id}")
}

pub fn config(id: NodeId, members: &[NodeId], dir: &Path, shards: u32, rf: usize) -> NodeConfig {
    let mut config = NodeConfig::single(id, url(id), dir.join(format!("node-{id}")));
    config.initial_cluster = members
        .iter()
        .map(|m| (*m, url(*m)))
        .collect::<BTreeMap<_, _>>();
    config.shards = shards;
    config.replication_factor = rf;
    config
}

pub async fn start(network: &Arc<InProcessNetwork>, config: NodeConfig) -> Arc<Node> {
    let own_url = config.advertise_url.clone();
    let transport = Arc::new(NodeTransport {
        network: Arc::clone(network),
        own_url: own_url.clone(),
    });
    let node = Node::start_with_transport(config, transport).await.unwrap();
    network.register(&own_url, &node);
    node
}

/// Poll `condition` every 20 ms until it holds; panic with `what` after `timeout`.
pub async fn wait_for<F: FnMut() -> bool>(what: &str, timeout: Duration, mut condition: F) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn labels(name: &str, instance: &str) -> Vec<(String, String)> {
    vec![
        ("__name__".into(), name.into()),
        ("instance".into(), instance.into()),
    ]
}

pub fn batch(
    labels: Vec<(String, String)>,
    timestamps: std::ops::Range<i64>,
    identity: Option<(&str, u32, u64, u64)>,
) -> WriteBatch {
    WriteBatch {
        tenant: "default".into(),
        identity: identity.map(|(agent, queue, first, last)| BatchIdentity {
            agent: agent.into(),
            queue,
            first,
            last,
        }),
        series: vec![SeriesSamples {
            labels,
            samples: timestamps
                .map(|t| Sample {
                    timestamp_ms: t,
                    value: t as f64,
                })
                .collect(),
        }],
    }
}
