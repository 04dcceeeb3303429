//! The bodies of the internal RPCs that are Skyview's own (Raft's come from openraft), and the
//! refusal every forwarded operation may answer with instead of a result.
//!
//! A refusal travels inside a 200 reply on purpose: the HTTP status says whether the peer got
//! the request, the refusal says what the peer made of it (not the leader: here is who is;
//! proposed but not confirmed in time; ...), which the caller needs to retry correctly.

use serde::{Deserialize, Serialize};
use skyview_storage::tsdb::{MatchOp, Matcher};

use crate::type_config::NodeId;

/// Why a peer did not carry out a forwarded operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The peer does not lead the group; `leader` is who does, if it knows.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader the peer knows of.
        leader: Option<NodeId>,
    },
    /// The peer could not act (no quorum, shutting down, group not hosted). Nothing was done.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The operation was started but not confirmed in time: its outcome is unknown.
    #[error("outcome unknown after the deadline")]
    Timeout,
    /// The request is invalid and will stay so (bad matcher, unknown node).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The peer's group or store failed.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// A forwarded linearizable read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectRequest {
    /// The tenant whose series are read.
    pub tenant: String,
    /// Label matchers, all of which must match.
    pub matchers: Vec<WireMatcher>,
    /// Inclusive start (ms).
    pub min_t: i64,
    /// Inclusive end (ms).
    pub max_t: i64,
}

/// A label matcher as sent between nodes (storage's [`Matcher`] holds a compiled regex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMatcher {
    /// `=`, `!=`, `=~` or `!~`.
    pub op: WireMatchOp,
    /// The label name.
    pub name: String,
    /// The value, or the regular expression.
    pub value: String,
}

/// [`MatchOp`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireMatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl From<&Matcher> for WireMatcher {
    fn from(m: &Matcher) -> WireMatcher {
        let op = match m.op() {
            MatchOp::Equal => WireMatchOp::Equal,
            MatchOp::NotEqual => WireMatchOp::NotEqual,
            MatchOp::Regex => WireMatchOp::Regex,
            MatchOp::NotRegex => WireMatchOp::NotRegex,
        };
        WireMatcher {
            op,
            name: m.name().to_owned(),
            value: m.value().to_owned(),
        }
    }
}

impl WireMatcher {
    /// Compile back into storage's matcher; fails on a regex the sender should have refused.
    pub fn to_matcher(&self) -> Result<Matcher, Refusal> {
        let op = match self.op {
            WireMatchOp::Equal => MatchOp::Equal,
            WireMatchOp::NotEqual => MatchOp::NotEqual,
            WireMatchOp::Regex => MatchOp::Regex,
            WireMatchOp::NotRegex => MatchOp::NotRegex,
        };
        Matcher::new(op, &self.name, &self.value).map_err(|e| Refusal::Invalid(e.to_string()))
    }
}

/// A node asking to be added to the cluster (`--join`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The new node's id.
    pub node_id: NodeId,
    /// Its HTTP address.
    pub url: String,
    /// False when sent by the joining node (the receiver routes it to the meta leader); true
    /// when routed by a member (the receiver must be the leader, so a request never loops).
    pub forwarded: bool,
}

/// Removing a node, sent to the meta leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveRequest {
    /// The node to remove.
    pub node: NodeId,
}

/// A change of a shard group's voters, carried out by its leader: `remove` leaves, and `add`
/// (when given) joins as a learner, catches up, and then takes its place as a voter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaChange {
    /// The replica leaving the group.
    pub remove: NodeId,
    /// The replica replacing it, if any.
    pub add: Option<NewReplica>,
}

/// A node receiving a shard replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReplica {
    /// The node.
    pub node: NodeId,
    /// Its HTTP address, recorded in the shard group's membership.
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_survive_the_wire() {
        let original = Matcher::new(MatchOp::NotRegex, "job", "node.*").unwrap();
        let wire = WireMatcher::from(&original);
        let bytes = postcard::to_stdvec(&wire).unwrap();
        let back = postcard::from_bytes::<WireMatcher>(&bytes)
            .unwrap()
            .to_matcher()
            .unwrap();
        assert_eq!(back.op(), MatchOp::NotRegex);
        assert_eq!(back.name(), "job");
        assert!(back.matches("prometheus"));
        assert!(!back.matches("node_exporter"));
    }

    #[test]
    fn an_invalid_regex_is_refused_not_panicked_on() {
        let wire = WireMatcher {
            op: WireMatchOp::Regex,
            name: "job".into(),
            value: "(".into(),
        };
        assert!(matches!(wire.to_matcher(), Err(Refusal::Invalid(_))));
    }
}
