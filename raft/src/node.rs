//! The multi-Raft node runtime: one process's share of the receiver cluster.
//!
//! A node runs the meta group (group 0, on every node) and one Raft group per shard replica it
//! hosts, all persisting into one Raft database (`<data>/raft`) and one TSDB (`<data>/tsdb`).
//! [`Node`] is the only thing the `api` crate drives: it takes writes (group-committed per shard
//! and forwarded to the shard's leader), linearizable reads, status and admin requests, and the
//! peers' internal RPCs.
//!
//! Concurrency layout (each piece a thin shell over a pure part):
//! - one [`group_commit::GroupCommitter`] task per shard cuts queued writes into entries;
//! - `write_path` proposes an entry at the local leader or forwards it, retrying with the
//!   leader a refusal names until the deadline;
//! - `replicas` watches the meta group's placement and starts the shard groups placed here;
//! - `membership` bootstraps a new cluster, joins a running one, and removes nodes;
//! - `replica_moves` carries out removals at the meta leader, one replica move at a time;
//! - `high_water` proposes agents' committed marks to the meta group in the background;
//! - `retention` has each shard leader commit the retention cut hourly.
//!
//! Blocking RocksDB work (apply, flush, reads) runs on tokio's blocking pool, never on the
//! async workers; no lock is held across an `.await`.

pub mod config;
mod election_takeover;
pub mod error;
pub mod group_commit;
pub mod high_water;
mod internal;
pub mod leader_hints;
mod membership;
mod meta_client;
mod metadata_reads;
pub mod placement;
pub mod raft_config;
mod read_path;
mod replica_moves;
mod replicas;
mod retention;
pub mod snapshot_trigger;
pub mod status;
mod write_path;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use openraft::Raft;
use skyview_storage::tsdb::{Matcher, Tsdb};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use config::NodeConfig;
pub use error::{AdminError, InternalError, NodeError, ReadError, WriteError};
pub use status::{ClusterStatus, GroupStatus, NodeStatus, ReplicaStatus, ShardStatus};

use crate::group::GroupId;
use crate::log_store::RaftDb;
use crate::meta::state::MetaState;
use crate::meta::state_machine::MetaStateMachine;
use crate::metadata::MetadataStore;
use crate::network::http_transport::HttpTransport;
use crate::network::raft_network::GroupNetworkFactory;
use crate::network::transport::Transport;
use crate::shard::SharedTsdb;
use crate::type_config::{NodeId, PeerNode, TypeConfig};
use crate::write_batch::{SeriesSamples, WriteBatch, WriteOutcome};
use election_takeover::LeaderContact;
use group_commit::GroupCommitter;
use high_water::PendingHighWater;
use leader_hints::LeaderHints;

/// How long a write may wait for its entry to be committed and applied before its outcome is
/// reported unknown ([`WriteError::Timeout`]).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read (or a status query) may look for a leader to confirm it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two attempts when no leader is known (an election takes ~0.3-0.6 s).
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// One receiver node. Start it with [`Node::start`], share it as an `Arc`, and call
/// [`Node::shutdown`] before dropping it (its background tasks hold it).
pub struct Node {
    config: NodeConfig,
    transport: Arc<dyn Transport>,
    raft_db: Arc<RaftDb>,
    tsdb: SharedTsdb,
    meta: Raft<TypeConfig>,
    meta_state: watch::Receiver<Arc<MetaState>>,
    /// Hosted shard groups. Cloned out before any `.await` (an openraft handle is cheap).
    replicas: RwLock<BTreeMap<u32, Raft<TypeConfig>>>,
    /// Each hosted replica's samples applied since its last snapshot (see
    /// [`snapshot_trigger`]).
    unsnapshotted: RwLock<BTreeMap<u32, Arc<AtomicU64>>>,
    /// Serialises starting and stopping replicas, so one shard never gets two Raft instances.
    replica_changes: tokio::sync::Mutex<()>,
    /// Index `shard - 1`.
    committers: Vec<GroupCommitter>,
    leaders: LeaderHints,
    /// When each hosted group last heard from a leader (see [`election_takeover`]).
    leader_contact: LeaderContact,
    high_water: PendingHighWater,
    /// Metric metadata received by this node (not replicated: see [`crate::metadata`]).
    metadata: MetadataStore,
    stopping: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.config.node_id)
            .field("url", &self.config.advertise_url)
            .field("shards", &self.config.shards)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Open the data dir, start the meta group and the hosted shard groups, and bootstrap or
    /// join the cluster in the background. Peers are reached over HTTP.
    pub async fn start(config: NodeConfig) -> Result<Arc<Node>, NodeError> {
        let transport = HttpTransport::new().map_err(|e| NodeError::Config(e.to_string()))?;
        Node::start_with_transport(config, Arc::new(transport)).await
    }

    /// [`Node::start`] over another transport (tests run whole clusters in one process).
    pub async fn start_with_transport(
        config: NodeConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Arc<Node>, NodeError> {
        let config = config.validate()?;
        for dir in [config.data_dir.clone(), snapshot_dir(&config)] {
            std::fs::create_dir_all(&dir).map_err(|source| NodeError::Io { path: dir, source })?;
        }
        let raft_db = RaftDb::open(config.data_dir.join("raft"))?;
        let tsdb_path = config.data_dir.join("tsdb");
        let tsdb_options = config.tsdb.clone();
        let tsdb = tokio::task::spawn_blocking(move || Tsdb::open(&tsdb_path, tsdb_options))
            .await
            .map_err(|e| NodeError::Config(format!("opening the tsdb: {e}")))??;
        let tsdb: SharedTsdb = Arc::new(RwLock::new(tsdb));

        let initial: Vec<NodeId> = config.initial_cluster.keys().copied().collect();
        let meta_config =
            raft_config::raft_config(raft_config::election_slot(&initial, config.node_id))?;
        let meta_sm = MetaStateMachine::open(Arc::clone(&raft_db), GroupId::META)?;
        let meta_state = meta_sm.watch();
        let meta = Raft::new(
            config.node_id,
            meta_config,
            GroupNetworkFactory::new(GroupId::META, config.node_id, Arc::clone(&transport)),
            raft_db.group(GroupId::META),
            meta_sm,
        )
        .await
        .map_err(|e| NodeError::Raft {
            group: GroupId::META.to_string(),
            reason: e.to_string(),
        })?;

        let mut committer_tasks = Vec::new();
        let node = Arc::new_cyclic(|weak: &std::sync::Weak<Node>| {
            let committers = (1..=config.shards)
                .map(|shard| {
                    let (committer, task) = GroupCommitter::spawn(shard, weak.clone());
                    committer_tasks.push(task);
                    committer
                })
                .collect();
            Node {
                transport,
                raft_db,
                tsdb,
                meta,
                meta_state,
                replicas: RwLock::new(BTreeMap::new()),
                unsnapshotted: RwLock::new(BTreeMap::new()),
                replica_changes: tokio::sync::Mutex::new(()),
                committers,
                leaders: LeaderHints::default(),
                leader_contact: LeaderContact::default(),
                high_water: PendingHighWater::default(),
                metadata: MetadataStore::default(),
                stopping: watch::channel(false).0,
                tasks: Mutex::new(committer_tasks),
                config,
            }
        });
        node.spawn_background_tasks();
        tracing::info!(node = node.id(), url = %node.config.advertise_url, shards = node.shards(), "node started");
        Ok(node)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.node_id
    }

    /// Number of shards of the cluster.
    pub fn shards(&self) -> u32 {
        self.config.shards
    }

    /// The node's TSDB (shared with the shard state machines), for the query engine's
    /// non-linearizable reads.
    pub fn tsdb(&self) -> &SharedTsdb {
        &self.tsdb
    }

    /// Group-committed, forwarded to the shard leader when needed; Ok only once the entry is
    /// committed on a quorum (and durable) and applied.
    pub async fn write(&self, shard: u32, batch: WriteBatch) -> Result<WriteOutcome, WriteError> {
        let committer = self.committer(shard)?;
        committer
            .submit(batch, Instant::now() + WRITE_TIMEOUT)
            .await
    }

    /// Linearizable read of one shard (read index at the leader; forwarded if needed).
    pub async fn select(
        &self,
        shard: u32,
        tenant: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<SeriesSamples>, ReadError> {
        self.routed_select(
            shard,
            tenant,
            matchers,
            min_t,
            max_t,
            Instant::now() + READ_TIMEOUT,
        )
        .await
    }

    /// The cluster's members, meta group and shards.
    pub async fn status(&self) -> Result<ClusterStatus, ReadError> {
        self.cluster_status().await
    }

    /// The committed high-water mark of an agent's queue, if it has reported one. May lag
    /// behind the truth (never ahead of it): resuming lower only resends what dedup drops.
    pub async fn committed(&self, agent: &str, queue: u32) -> Result<Option<u64>, ReadError> {
        let replicated = self.meta_state.borrow().agent_high_water(agent, queue);
        let pending = self.high_water.get(agent, queue);
        Ok(replicated.max(pending))
    }

    /// After a fully acknowledged identified write: remember the high-water mark; proposed to
    /// the meta group in the background (a lower mark is safe: dedup covers the gap).
    pub fn record_committed(&self, agent: &str, queue: u32, last: u64) {
        self.high_water.record(agent, queue, last);
    }

    /// Start removing `node` from the cluster: it is marked leaving in the meta group (no new
    /// replica goes there); once no placement names it, it also leaves the meta group.
    pub async fn remove_node(&self, node: NodeId) -> Result<(), AdminError> {
        self.routed_remove_node(node).await
    }

    /// Meta leader known, every shard placed, every shard placed here hosted (the placement
    /// commits before the replica starts), and every hosted shard has a leader.
    pub fn is_ready(&self) -> bool {
        if self.meta.metrics().borrow().current_leader.is_none() {
            return false;
        }
        let state = self.meta_state.borrow().clone();
        let hosted = self.hosted_replicas();
        let me = self.id();
        for shard in 1..=self.shards() {
            match state.placement(shard) {
                None => return false,
                Some(placement) if placement.contains(&me) && !hosted.contains_key(&shard) => {
                    return false
                }
                Some(_) => {}
            }
        }
        hosted
            .values()
            .all(|raft| raft.metrics().borrow().current_leader.is_some())
    }

    /// Internal peer RPCs: the api crate routes `POST /internal/{*path}` here verbatim (path
    /// without the `/internal/` prefix, body bytes) and returns the bytes (200) or the error.
    pub async fn handle_internal(&self, path: &str, body: Bytes) -> Result<Vec<u8>, InternalError> {
        if *self.stopping.borrow() {
            return Err(InternalError::ShuttingDown);
        }
        self.dispatch_internal(path, body).await
    }

    /// Stop the background tasks and every Raft group cleanly. Idempotent.
    pub async fn shutdown(&self) {
        if self.stopping.send_replace(true) {
            return;
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in &tasks {
            task.abort();
        }
        let replicas = std::mem::take(
            &mut *self
                .replicas
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (shard, raft) in replicas {
            if let Err(e) = raft.shutdown().await {
                tracing::warn!(shard, error = %e, "shard group did not shut down cleanly");
            }
        }
        if let Err(e) = self.meta.shutdown().await {
            tracing::warn!(error = %e, "meta group did not shut down cleanly");
        }
        // Nothing writes any more: write the memtables out, so the next start replays no WAL.
        let (tsdb, raft_db) = (Arc::clone(&self.tsdb), Arc::clone(&self.raft_db));
        let flushed = tokio::task::spawn_blocking(move || {
            let tsdb = tsdb.read().map_err(|_| "tsdb lock poisoned".to_owned())?;
            tsdb.flush_memtables().map_err(|e| e.to_string())?;
            raft_db.flush_memtables().map_err(|e| e.to_string())
        })
        .await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "memtables not flushed at stop"),
            Err(e) => tracing::warn!(error = %e, "memtable flush task failed"),
        }
        tracing::info!(node = self.id(), "node stopped");
    }

    fn committer(&self, shard: u32) -> Result<&GroupCommitter, WriteError> {
        shard
            .checked_sub(1)
            .and_then(|i| self.committers.get(i as usize))
            .ok_or_else(|| WriteError::Unavailable {
                shard,
                reason: format!("no such shard (the cluster has {})", self.shards()),
            })
    }

    /// The hosted shard groups (a snapshot of the map).
    fn hosted_replicas(&self) -> BTreeMap<u32, Raft<TypeConfig>> {
        self.replicas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The local Raft of `group`, if hosted.
    fn group_raft(&self, group: GroupId) -> Option<Raft<TypeConfig>> {
        if group == GroupId::META {
            return Some(self.meta.clone());
        }
        self.replicas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&group.0)
            .cloned()
    }

    /// A member's HTTP address, from the meta group's membership (or this node's own).
    fn peer_url(&self, node: NodeId) -> Option<String> {
        if node == self.id() {
            return Some(self.config.advertise_url.clone());
        }
        let metrics = self.meta.metrics();
        let metrics = metrics.borrow();
        metrics
            .membership_config
            .membership()
            .get_node(&node)
            .map(|peer: &PeerNode| peer.http_addr.clone())
            .or_else(|| self.config.initial_cluster.get(&node).cloned())
    }

    fn spawn_background_tasks(self: &Arc<Self>) {
        let tasks = [
            tokio::spawn(Arc::clone(self).watch_placements()),
            tokio::spawn(Arc::clone(self).establish_membership()),
            tokio::spawn(Arc::clone(self).drive_removals()),
            tokio::spawn(Arc::clone(self).enforce_retention()),
            tokio::spawn(Arc::clone(self).propose_high_water()),
            tokio::spawn(Arc::clone(self).trigger_snapshots()),
        ];
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(tasks);
    }

    /// Resolves once [`Node::shutdown`] has started.
    async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // An error means the sender is gone, which only happens with the node itself.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }
}

fn snapshot_dir(config: &NodeConfig) -> PathBuf {
    config.data_dir.join("snapshots")
}
