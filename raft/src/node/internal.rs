//! The server side of the peer network: `POST /internal/{path}` dispatched to the right
//! group's Raft or to the leader-side half of a forwarded operation.
//!
//! Operation results (including openraft's own errors and [`Refusal`]s) are encoded in the 200
//! reply, so the caller can follow a leader change; an [`InternalError`] is only for a request
//! this node cannot take at all (unknown route, undecodable body, group not hosted).

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::command::ShardWrite;
use crate::group::GroupId;
use crate::network::messages::{JoinRequest, Refusal, RemoveRequest, ReplicaChange, SelectRequest};
use crate::network::path::{InternalPath, RaftRpc};
use crate::node::election_takeover::answer_vote;
use crate::node::error::InternalError;
use crate::node::replica_moves::REPLICA_CHANGE_TIMEOUT;
use crate::node::status::GroupStatus;
use crate::node::{Node, READ_TIMEOUT, WRITE_TIMEOUT};

impl Node {
    pub(crate) async fn dispatch_internal(
        &self,
        path: &str,
        body: Bytes,
    ) -> Result<Vec<u8>, InternalError> {
        let route = InternalPath::parse(path).ok_or_else(|| InternalError::UnknownPath {
            path: path.to_owned(),
        })?;
        match route {
            InternalPath::Raft { group, rpc } => {
                let raft = self
                    .group_raft(group)
                    .ok_or_else(|| InternalError::GroupNotHosted {
                        group: group.to_string(),
                    })?;
                match rpc {
                    RaftRpc::Append => {
                        self.leader_contact.heard(group);
                        encode(&raft.append_entries(decode(path, &body)?).await)
                    }
                    RaftRpc::Vote => {
                        let request = decode(path, &body)?;
                        encode(&answer_vote(&raft, group, &self.leader_contact, request).await)
                    }
                    RaftRpc::Snapshot => encode(&raft.install_snapshot(decode(path, &body)?).await),
                }
            }
            InternalPath::ShardWrite(shard) => {
                let write: ShardWrite = decode(path, &body)?;
                encode(&self.leader_write(shard, write).await)
            }
            InternalPath::ShardSelect(shard) => {
                let request: SelectRequest = decode(path, &body)?;
                let matchers: Result<Vec<_>, Refusal> =
                    request.matchers.iter().map(|m| m.to_matcher()).collect();
                let reply = match matchers {
                    Ok(matchers) => {
                        self.leader_select(
                            shard,
                            &request.tenant,
                            &matchers,
                            request.min_t,
                            request.max_t,
                            Instant::now() + READ_TIMEOUT,
                        )
                        .await
                    }
                    Err(refusal) => Err(refusal),
                };
                encode(&reply)
            }
            InternalPath::ShardStatus(shard) => encode(&self.local_group_status(GroupId(shard))),
            InternalPath::ShardHost(shard) => encode(&self.host_moved_in(shard).await),
            InternalPath::ShardReplace(shard) => {
                let change: ReplicaChange = decode(path, &body)?;
                let deadline = Instant::now() + REPLICA_CHANGE_TIMEOUT;
                encode(&self.leader_replace(shard, &change, deadline).await)
            }
            InternalPath::ShardDrop(shard) => {
                encode(&Ok::<bool, Refusal>(self.drop_shard(shard).await))
            }
            InternalPath::ClusterJoin => {
                let request: JoinRequest = decode(path, &body)?;
                encode(&self.handle_join(request).await)
            }
            InternalPath::ClusterRemove => {
                let request: RemoveRequest = decode(path, &body)?;
                encode(&self.leader_remove(request.node).await)
            }
            InternalPath::MetaPropose => {
                let command = decode(path, &body)?;
                let deadline = Instant::now() + WRITE_TIMEOUT;
                encode(&self.leader_propose_meta(command, deadline).await)
            }
            InternalPath::Metadata => {
                let tenant: String = decode(path, &body)?;
                encode(&Ok::<_, Refusal>(self.local_metadata(&tenant)))
            }
        }
    }

    /// This node's view of `group` (the leader's includes replica health).
    pub(crate) fn local_group_status(&self, group: GroupId) -> Result<GroupStatus, Refusal> {
        let raft = self.group_raft(group).ok_or(Refusal::NotLeader {
            leader: self.leaders.get(group.0),
        })?;
        let metrics = raft.metrics().borrow().clone();
        Ok(GroupStatus::from_metrics(&metrics))
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, InternalError> {
    postcard::from_bytes(body).map_err(|e| InternalError::BadBody {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(reply: &T) -> Result<Vec<u8>, InternalError> {
    postcard::to_stdvec(reply).map_err(|e| InternalError::Encode(e.to_string()))
}
