//! Reaching the meta group's leader from any node: meta commands (placements, high-water
//! marks, node removal) and membership changes are decided there.
//!
//! [`Node::at_meta_leader`] runs an operation locally when this node leads the meta group and
//! forwards it otherwise, following leader changes until the deadline. Every meta operation is
//! idempotent (a placement replaces, a high-water mark only moves forward, marking a node
//! leaving twice is harmless), so retrying after an unknown outcome is safe.

use std::future::Future;

use bytes::Bytes;
use openraft::error::Fatal;
use openraft::error::RaftError;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::command::{Command, Response};
use crate::meta::command::{MetaCommand, MetaOutcome};
use crate::network::messages::Refusal;
use crate::network::path::InternalPath;
use crate::node::{Node, RETRY_PAUSE};
use crate::type_config::{NodeId, PeerNode};

impl Node {
    /// Run `local` if this node leads the meta group, else post `body` to the leader's `path`;
    /// retried on leader changes and unavailability until `deadline`.
    pub(crate) async fn at_meta_leader<T, F, Fut>(
        &self,
        path: InternalPath,
        body: Bytes,
        deadline: Instant,
        mut local: F,
    ) -> Result<T, Refusal>
    where
        T: DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Refusal>>,
    {
        let mut last = Refusal::Unavailable("the meta group has no leader".into());
        while Instant::now() < deadline {
            let leader = self.meta.metrics().borrow().current_leader;
            let result = match leader {
                None => Err(Refusal::Unavailable("the meta group has no leader".into())),
                Some(leader) if leader == self.id() => local().await,
                Some(leader) => self.call_peer(leader, path, body.clone(), deadline).await,
            };
            match result {
                Ok(value) => return Ok(value),
                Err(refusal @ (Refusal::Invalid(_) | Refusal::Fatal(_))) => return Err(refusal),
                Err(refusal) => {
                    last = refusal;
                    tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
                }
            }
        }
        Err(last)
    }

    /// Post `body` to `node`'s internal `path` and decode its `Result<T, Refusal>` reply.
    pub(crate) async fn call_peer<T: DeserializeOwned>(
        &self,
        node: NodeId,
        path: InternalPath,
        body: Bytes,
        deadline: Instant,
    ) -> Result<T, Refusal> {
        let url = self
            .peer_url(node)
            .ok_or_else(|| Refusal::Unavailable(format!("no address known for node {node}")))?;
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self
            .transport
            .post(&url, path.to_string(), body, timeout)
            .await
        {
            Ok(bytes) => postcard::from_bytes::<Result<T, Refusal>>(&bytes).unwrap_or_else(|e| {
                Err(Refusal::Unavailable(format!(
                    "undecodable reply from node {node} to {path}: {e}"
                )))
            }),
            Err(e) if e.not_delivered() => Err(Refusal::Unavailable(e.to_string())),
            Err(_) => Err(Refusal::Timeout),
        }
    }

    /// Commit `command` through the meta group, from any node.
    pub(crate) async fn propose_meta(
        &self,
        command: MetaCommand,
        deadline: Instant,
    ) -> Result<MetaOutcome, Refusal> {
        let body = Bytes::from(
            postcard::to_stdvec(&command).map_err(|e| Refusal::Invalid(e.to_string()))?,
        );
        self.at_meta_leader(InternalPath::MetaPropose, body, deadline, || {
            self.leader_propose_meta(command.clone(), deadline)
        })
        .await
    }

    /// Commit `command` at this node, which must lead the meta group.
    pub(crate) async fn leader_propose_meta(
        &self,
        command: MetaCommand,
        deadline: Instant,
    ) -> Result<MetaOutcome, Refusal> {
        let leader = self.meta.metrics().borrow().current_leader;
        if leader != Some(self.id()) {
            return Err(Refusal::NotLeader { leader });
        }
        let proposal = self.meta.client_write(Command::Meta(command));
        match tokio::time::timeout_at(deadline, proposal).await {
            Err(_elapsed) => Err(Refusal::Timeout),
            Ok(Ok(response)) => match response.data {
                Response::Meta(outcome) => Ok(outcome),
                other => Err(Refusal::Fatal(format!(
                    "meta group answered {other:?} to a meta command"
                ))),
            },
            Ok(Err(e)) => Err(refusal_of(e)),
        }
    }
}

/// What an openraft write or membership error means to a caller that may retry.
pub(crate) fn refusal_of<E>(e: RaftError<NodeId, E>) -> Refusal
where
    E: std::error::Error + openraft::TryAsRef<openraft::error::ForwardToLeader<NodeId, PeerNode>>,
{
    if let Some(forward) = e.forward_to_leader::<PeerNode>() {
        return Refusal::NotLeader {
            leader: forward.leader_id,
        };
    }
    match e {
        RaftError::APIError(e) => Refusal::Unavailable(e.to_string()),
        RaftError::Fatal(Fatal::Stopped) => Refusal::Timeout,
        RaftError::Fatal(fatal) => Refusal::Fatal(fatal.to_string()),
    }
}
