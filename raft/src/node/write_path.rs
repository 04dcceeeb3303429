//! Proposing a group-committed entry: at the local Raft when this node leads the shard,
//! otherwise forwarded to the leader (`/internal/shard/{shard}/write`), retrying with the leader
//! a refusal names, or the placement's next replica, until the deadline.
//!
//! What a failure means for the client is decided here:
//! - nothing could have been proposed (no leader, refused, unreachable) -> `Unavailable`;
//! - a proposal may have been appended (no answer in time, connection broken after sending,
//!   the group stopped while waiting) -> `Timeout`, the write is unknown;
//! - the group's storage failed -> `Fatal`.
//!
//! The local path moves the entry into openraft without a copy (copying every entry in case
//! leadership moved in the microseconds since the check would cost more than it saves): if
//! openraft answers `ForwardToLeader`, nothing was appended and the write is answered
//! `Unavailable`, which the sender retries. A forwarded entry is encoded once and the same
//! bytes are resent on each retry.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use openraft::error::{ClientWriteError, Fatal, RaftError};
use openraft::Raft;
use tokio::time::Instant;

use crate::command::{Command, Response, ShardWrite};
use crate::network::messages::Refusal;
use crate::network::path::InternalPath;
use crate::node::error::WriteError;
use crate::node::group_commit::ProposeEntry;
use crate::node::leader_hints::candidates;
use crate::node::{Node, RETRY_PAUSE};
use crate::type_config::{NodeId, PeerNode, TypeConfig};
use crate::write_batch::WriteOutcome;

impl ProposeEntry for Node {
    fn propose(
        self: Arc<Self>,
        shard: u32,
        write: ShardWrite,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<WriteOutcome>, WriteError>> + Send>> {
        Box::pin(async move { self.propose_write(shard, write, deadline).await })
    }
}

/// What one attempt at one node made of a write.
enum Attempt {
    Done(Vec<WriteOutcome>),
    /// Not proposed there; try `leader` (if known) or the next candidate.
    Redirect(Option<NodeId>),
    /// Not proposed (peer unreachable, no quorum): pause and retry.
    NotProposed(String),
    /// Maybe proposed; the outcome is unknown. Retrying is safe (dedup), but if the deadline
    /// passes the answer is `Timeout`.
    Unknown,
    Failed(WriteError),
}

impl Node {
    async fn propose_write(
        &self,
        shard: u32,
        write: ShardWrite,
        deadline: Instant,
    ) -> Result<Vec<WriteOutcome>, WriteError> {
        let mut write = Some(write);
        let mut encoded: Option<Bytes> = None;
        let mut maybe_proposed = false;
        let mut last_reason = String::from("no leader known");
        let mut next: Option<NodeId> = None;
        loop {
            if Instant::now() >= deadline {
                return Err(if maybe_proposed {
                    WriteError::Timeout { shard }
                } else {
                    WriteError::Unavailable {
                        shard,
                        reason: last_reason,
                    }
                });
            }
            let target = match next.take() {
                Some(target) => Some(target),
                None => self.write_target(shard),
            };
            let Some(target) = target else {
                last_reason = "shard has no placement or leader yet".into();
                tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                continue;
            };
            let attempt = if target == self.id() {
                // Checked before the write is taken, so an unhosted replica (not started yet,
                // or just dropped) leaves the write in hand for the next candidate.
                match self.group_raft(crate::group::GroupId::shard(shard)) {
                    None => Attempt::NotProposed(format!("shard {shard} is not hosted here")),
                    Some(raft) => {
                        let local = match write.take() {
                            Some(write) => write,
                            None => decode_write(encoded.as_ref())?,
                        };
                        propose_locally(&raft, shard, local, deadline).await
                    }
                }
            } else {
                let body = match &encoded {
                    Some(bytes) => bytes.clone(),
                    None => {
                        let bytes = Bytes::from(encode_write(write.as_ref())?);
                        encoded = Some(bytes.clone());
                        write = None;
                        bytes
                    }
                };
                self.forward_write(shard, target, body, deadline).await
            };
            match attempt {
                Attempt::Done(outcomes) => {
                    self.leaders.set(shard, Some(target));
                    return Ok(outcomes);
                }
                Attempt::Redirect(leader) => {
                    self.leaders.set(shard, leader);
                    next = leader.filter(|l| *l != target);
                    if next.is_none() {
                        last_reason = format!("node {target} does not lead shard {shard}");
                        tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                    }
                }
                Attempt::NotProposed(reason) => {
                    self.leaders.set(shard, None);
                    last_reason = reason;
                    next = self.next_candidate(shard, target);
                    tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                }
                Attempt::Unknown => {
                    maybe_proposed = true;
                    self.leaders.set(shard, None);
                }
                Attempt::Failed(error) => return Err(error),
            }
            if write.is_none() && encoded.is_none() {
                // The local attempt consumed the entry without a verdict we can retry on.
                return Err(if maybe_proposed {
                    WriteError::Timeout { shard }
                } else {
                    WriteError::Unavailable {
                        shard,
                        reason: last_reason,
                    }
                });
            }
        }
    }

    /// Where to send the next attempt: this node if it leads a hosted replica, else the
    /// local replica's view of the leader, else the hint, else the preferred replica.
    pub(super) fn write_target(&self, shard: u32) -> Option<NodeId> {
        if let Some(raft) = self.group_raft(crate::group::GroupId::shard(shard)) {
            if let Some(leader) = raft.metrics().borrow().current_leader {
                return Some(leader);
            }
        }
        let placement = self.meta_state.borrow().placement(shard)?.to_vec();
        candidates(self.leaders.get(shard), &placement)
            .first()
            .copied()
    }

    /// The replica after `tried` in the placement (wrapping), to try when `tried` failed.
    pub(super) fn next_candidate(&self, shard: u32, tried: NodeId) -> Option<NodeId> {
        let placement = self.meta_state.borrow().placement(shard)?.to_vec();
        let position = placement.iter().position(|n| *n == tried);
        let next = position.map_or(0, |p| (p + 1) % placement.len());
        placement.get(next).copied()
    }

    async fn forward_write(
        &self,
        shard: u32,
        target: NodeId,
        body: Bytes,
        deadline: Instant,
    ) -> Attempt {
        let Some(url) = self.peer_url(target) else {
            return Attempt::NotProposed(format!("no address known for node {target}"));
        };
        let timeout = deadline.saturating_duration_since(Instant::now());
        let reply = self
            .transport
            .post(
                &url,
                InternalPath::ShardWrite(shard).to_string(),
                body,
                timeout,
            )
            .await;
        let bytes = match reply {
            Ok(bytes) => bytes,
            Err(e) if e.not_delivered() => return Attempt::NotProposed(e.to_string()),
            Err(e) => {
                tracing::debug!(shard, target, error = %e, "forwarded write: outcome unknown");
                return Attempt::Unknown;
            }
        };
        match postcard::from_bytes::<Result<Vec<WriteOutcome>, Refusal>>(&bytes) {
            Ok(Ok(outcomes)) => Attempt::Done(outcomes),
            Ok(Err(Refusal::NotLeader { leader })) => Attempt::Redirect(leader),
            Ok(Err(Refusal::Unavailable(reason))) => Attempt::NotProposed(reason),
            Ok(Err(Refusal::Timeout)) => Attempt::Unknown,
            Ok(Err(Refusal::Invalid(reason) | Refusal::Fatal(reason))) => {
                Attempt::Failed(WriteError::Fatal(reason))
            }
            // The peer answered something else: it may have proposed.
            Err(e) => {
                tracing::warn!(shard, target, error = %e, "undecodable reply to a forwarded write");
                Attempt::Unknown
            }
        }
    }

    /// Serve a write forwarded by a peer: propose it here if this node leads the shard; never
    /// forward again (the peer retries with the leader we name).
    pub(crate) async fn leader_write(
        &self,
        shard: u32,
        write: ShardWrite,
    ) -> Result<Vec<WriteOutcome>, Refusal> {
        let Some(raft) = self.group_raft(crate::group::GroupId::shard(shard)) else {
            return Err(Refusal::NotLeader {
                leader: self.leaders.get(shard),
            });
        };
        let leader = raft.metrics().borrow().current_leader;
        if leader != Some(self.id()) {
            return Err(Refusal::NotLeader { leader });
        }
        let deadline = Instant::now() + crate::node::WRITE_TIMEOUT;
        match propose_locally(&raft, shard, write, deadline).await {
            Attempt::Done(outcomes) => Ok(outcomes),
            Attempt::Redirect(leader) => Err(Refusal::NotLeader { leader }),
            Attempt::NotProposed(reason) => Err(Refusal::Unavailable(reason)),
            Attempt::Unknown => Err(Refusal::Timeout),
            Attempt::Failed(e) => Err(Refusal::Fatal(e.to_string())),
        }
    }
}

async fn propose_locally(
    raft: &Raft<TypeConfig>,
    shard: u32,
    write: ShardWrite,
    deadline: Instant,
) -> Attempt {
    let proposal = raft.client_write(Command::Write(Arc::new(write)));
    match tokio::time::timeout_at(deadline, proposal).await {
        Err(_elapsed) => Attempt::Unknown,
        Ok(Ok(response)) => written(shard, response.data),
        Ok(Err(e)) => client_write_error(shard, e),
    }
}

fn written(shard: u32, response: Response) -> Attempt {
    match response {
        Response::Written(outcomes) => Attempt::Done(outcomes),
        other => Attempt::Failed(WriteError::Fatal(format!(
            "shard {shard} answered {other:?} to a write"
        ))),
    }
}

fn client_write_error(
    shard: u32,
    e: RaftError<NodeId, ClientWriteError<NodeId, PeerNode>>,
) -> Attempt {
    if let Some(forward) = e.forward_to_leader::<PeerNode>() {
        return Attempt::Redirect(forward.leader_id);
    }
    match e {
        RaftError::APIError(other) => Attempt::Failed(WriteError::Fatal(other.to_string())),
        // Stopped while the entry may already be in the log: unknown, not failed.
        RaftError::Fatal(Fatal::Stopped) => Attempt::Unknown,
        RaftError::Fatal(fatal) => {
            tracing::error!(shard, error = %fatal, "shard group failed");
            Attempt::Failed(WriteError::Fatal(fatal.to_string()))
        }
    }
}

fn encode_write(write: Option<&ShardWrite>) -> Result<Vec<u8>, WriteError> {
    let write =
        write.ok_or_else(|| WriteError::Fatal("write entry lost before encoding".into()))?;
    postcard::to_stdvec(write).map_err(|e| WriteError::Fatal(format!("encoding a write: {e}")))
}

fn decode_write(encoded: Option<&Bytes>) -> Result<ShardWrite, WriteError> {
    let bytes =
        encoded.ok_or_else(|| WriteError::Fatal("write entry lost before decoding".into()))?;
    postcard::from_bytes(bytes).map_err(|e| WriteError::Fatal(format!("decoding a write: {e}")))
}
