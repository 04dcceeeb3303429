//! Linearizable reads of one shard: the leader confirms its leadership with a quorum
//! (openraft's read index), waits until its state machine has applied up to that index, then
//! reads its TSDB. A read at a follower is forwarded to the leader
//! (`/internal/shard/{shard}/select`); reads are idempotent, so every failure is retried
//! until the deadline.

use std::sync::Arc;

use skyview_storage::tsdb::Matcher;
use tokio::time::Instant;

use crate::group::GroupId;
use crate::network::messages::{Refusal, SelectRequest, WireMatcher};
use crate::network::path::InternalPath;
use crate::node::error::ReadError;
use crate::node::leader_hints::candidates;
use crate::node::{Node, RETRY_PAUSE};
use crate::type_config::NodeId;
use crate::write_batch::{Sample, SeriesSamples};

impl Node {
    pub(crate) async fn routed_select(
        &self,
        shard: u32,
        tenant: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
        deadline: Instant,
    ) -> Result<Vec<SeriesSamples>, ReadError> {
        if shard == 0 || shard > self.shards() {
            return Err(ReadError::Invalid(format!(
                "no shard {shard} (the cluster has {})",
                self.shards()
            )));
        }
        let mut last = Refusal::Unavailable("no leader known".into());
        let mut next: Option<NodeId> = None;
        let mut encoded: Option<bytes::Bytes> = None;
        while Instant::now() < deadline {
            let target = next.take().or_else(|| self.read_target(shard));
            let result = match target {
                None => Err(Refusal::Unavailable(
                    "shard has no placement or leader yet".into(),
                )),
                Some(target) if target == self.id() => {
                    self.leader_select(shard, tenant, matchers, min_t, max_t, deadline)
                        .await
                }
                Some(target) => {
                    let body = match &encoded {
                        Some(body) => body.clone(),
                        None => {
                            let request = SelectRequest {
                                tenant: tenant.to_owned(),
                                matchers: matchers.iter().map(WireMatcher::from).collect(),
                                min_t,
                                max_t,
                            };
                            let body = bytes::Bytes::from(
                                postcard::to_stdvec(&request)
                                    .map_err(|e| ReadError::Invalid(e.to_string()))?,
                            );
                            encoded = Some(body.clone());
                            body
                        }
                    };
                    self.forward_select(shard, target, body, deadline).await
                }
            };
            match result {
                Ok(series) => return Ok(series),
                Err(Refusal::NotLeader { leader }) => {
                    self.leaders.set(shard, leader);
                    next = leader.filter(|l| Some(*l) != target);
                    if next.is_none() {
                        tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                    }
                    last = Refusal::NotLeader { leader };
                }
                Err(Refusal::Invalid(reason)) => return Err(ReadError::Invalid(reason)),
                Err(Refusal::Fatal(reason)) => return Err(ReadError::Storage(reason)),
                Err(other) => {
                    self.leaders.set(shard, None);
                    next = target.and_then(|t| self.next_read_candidate(shard, t));
                    last = other;
                    tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                }
            }
        }
        Err(match last {
            Refusal::Timeout => ReadError::Timeout { shard },
            other => ReadError::Unavailable {
                shard,
                reason: other.to_string(),
            },
        })
    }

    fn read_target(&self, shard: u32) -> Option<NodeId> {
        if let Some(raft) = self.group_raft(GroupId::shard(shard)) {
            if let Some(leader) = raft.metrics().borrow().current_leader {
                return Some(leader);
            }
        }
        let placement = self.meta_state.borrow().placement(shard)?.to_vec();
        candidates(self.leaders.get(shard), &placement)
            .first()
            .copied()
    }

    fn next_read_candidate(&self, shard: u32, tried: NodeId) -> Option<NodeId> {
        let placement = self.meta_state.borrow().placement(shard)?.to_vec();
        let position = placement.iter().position(|n| *n == tried);
        placement
            .get(position.map_or(0, |p| (p + 1) % placement.len()))
            .copied()
    }

    async fn forward_select(
        &self,
        shard: u32,
        target: NodeId,
        body: bytes::Bytes,
        deadline: Instant,
    ) -> Result<Vec<SeriesSamples>, Refusal> {
        let url = self
            .peer_url(target)
            .ok_or_else(|| Refusal::Unavailable(format!("no address known for node {target}")))?;
        let timeout = deadline.saturating_duration_since(Instant::now());
        let path = InternalPath::ShardSelect(shard).to_string();
        match self.transport.post(&url, path, body, timeout).await {
            Ok(bytes) => postcard::from_bytes::<Result<Vec<SeriesSamples>, Refusal>>(&bytes)
                .unwrap_or_else(|e| Err(Refusal::Unavailable(format!("bad select reply: {e}")))),
            Err(e) => Err(Refusal::Unavailable(e.to_string())),
        }
    }

    /// Serve a read at this node if it leads the shard: confirm the read index, wait for it to
    /// be applied, read the TSDB on the blocking pool.
    pub(crate) async fn leader_select(
        &self,
        shard: u32,
        tenant: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
        deadline: Instant,
    ) -> Result<Vec<SeriesSamples>, Refusal> {
        let Some(raft) = self.group_raft(GroupId::shard(shard)) else {
            return Err(Refusal::NotLeader {
                leader: self.leaders.get(shard),
            });
        };
        match tokio::time::timeout_at(deadline, raft.ensure_linearizable()).await {
            Err(_elapsed) => return Err(Refusal::Timeout),
            Ok(Err(e)) => {
                if let Some(forward) = e.forward_to_leader::<crate::type_config::PeerNode>() {
                    return Err(Refusal::NotLeader {
                        leader: forward.leader_id,
                    });
                }
                return Err(Refusal::Unavailable(e.to_string()));
            }
            Ok(Ok(_read_log_id)) => {}
        }
        let tsdb = Arc::clone(&self.tsdb);
        let tenant = tenant.to_owned();
        let matchers = matchers.to_vec();
        let read = tokio::task::spawn_blocking(move || {
            let guard = tsdb
                .read()
                .map_err(|_| Refusal::Fatal("tsdb lock poisoned".into()))?;
            guard
                .select(shard, &tenant, &matchers, min_t, max_t)
                .map_err(|e| Refusal::Fatal(e.to_string()))
        });
        let series = read
            .await
            .map_err(|e| Refusal::Fatal(format!("read task: {e}")))??;
        Ok(series
            .into_iter()
            .map(|s| SeriesSamples {
                labels: s.labels.pairs().to_vec(),
                samples: s
                    .samples
                    .into_iter()
                    .map(|sample| Sample {
                        timestamp_ms: sample.t,
                        value: sample.v,
                    })
                    .collect(),
            })
            .collect())
    }
}
