//! openraft's network for one Raft group: each RPC is a postcard body posted to the target's
//! `/internal/raft/{group}/{rpc}`, and the reply is the remote `Result` openraft expects.
//!
//! Failures are mapped so openraft reacts well to each:
//! - not delivered, or the peer does not host the group yet (`503`) -> `Unreachable`, so the
//!   replication stream backs off instead of spinning on a dead or starting peer;
//! - no answer within openraft's deadline -> `Timeout`;
//! - anything else (a broken connection, a reply that does not decode) -> `Network`;
//! - the remote Raft's own error -> `RemoteError`.
//!
//! Each group has its own streams and every request its own deadline, so a dead peer never
//! stalls the heartbeats of other groups.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::group::GroupId;
use crate::network::path::{InternalPath, RaftRpc};
use crate::network::transport::{Transport, TransportError};
use crate::type_config::{NodeId, PeerNode, TypeConfig};

/// Backoff between attempts to an unreachable peer: a few election timeouts, so a restarted
/// peer rejoins quickly while a dead one costs a request now and then.
const UNREACHABLE_BACKOFF: Duration = Duration::from_millis(300);

/// Creates [`GroupPeer`] clients for one group. Give one to each `openraft::Raft`.
#[derive(Debug, Clone)]
pub struct GroupNetworkFactory {
    group: GroupId,
    own_id: NodeId,
    transport: Arc<dyn Transport>,
}

impl GroupNetworkFactory {
    /// The network of `group` on node `own_id`.
    pub fn new(group: GroupId, own_id: NodeId, transport: Arc<dyn Transport>) -> Self {
        GroupNetworkFactory {
            group,
            own_id,
            transport,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for GroupNetworkFactory {
    type Network = GroupPeer;

    async fn new_client(&mut self, target: NodeId, node: &PeerNode) -> GroupPeer {
        GroupPeer {
            group: self.group,
            own_id: self.own_id,
            target,
            base_url: node.http_addr.clone(),
            transport: Arc::clone(&self.transport),
        }
    }
}

/// The connection of one group to one target node.
#[derive(Debug)]
pub struct GroupPeer {
    group: GroupId,
    own_id: NodeId,
    target: NodeId,
    base_url: String,
    transport: Arc<dyn Transport>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, PeerNode, RaftError<NodeId, E>>>;

impl GroupPeer {
    async fn call<Req, Resp, E>(
        &self,
        rpc: RaftRpc,
        action: RPCTypes,
        request: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body =
            postcard::to_stdvec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let path = InternalPath::Raft {
            group: self.group,
            rpc,
        }
        .to_string();
        let timeout = option.hard_ttl();
        let reply = self
            .transport
            .post(&self.base_url, path, Bytes::from(body), timeout)
            .await
            .map_err(|e| self.map_transport_error(e, action, timeout))?;
        let result: Result<Resp, RaftError<NodeId, E>> =
            postcard::from_bytes(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn map_transport_error<E: std::error::Error>(
        &self,
        e: TransportError,
        action: RPCTypes,
        timeout: Duration,
    ) -> RPCError<NodeId, PeerNode, RaftError<NodeId, E>> {
        if e.is_unavailable() {
            tracing::trace!(group = %self.group, target = self.target, error = %e, "peer unreachable");
            return RPCError::Unreachable(Unreachable::new(&e));
        }
        match e {
            TransportError::Timeout { .. } => RPCError::Timeout(Timeout {
                action,
                id: self.own_id,
                target: self.target,
                timeout,
            }),
            other => RPCError::Network(NetworkError::new(&other)),
        }
    }
}

impl RaftNetwork<TypeConfig> for GroupPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        self.call(RaftRpc::Append, RPCTypes::AppendEntries, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(RaftRpc::Snapshot, RPCTypes::InstallSnapshot, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        self.call(RaftRpc::Vote, RPCTypes::Vote, &rpc, &option)
            .await
    }

    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(std::iter::repeat(UNREACHABLE_BACKOFF))
    }
}
