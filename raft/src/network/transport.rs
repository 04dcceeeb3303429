//! The transport under every internal RPC: deliver a postcard body to a peer's
//! `/internal/{path}` and bring back the reply bytes.
//!
//! Its error says how far the request got, because that decides what a caller may conclude:
//! [`TransportError::Unreachable`] means it never left (try another node), while
//! [`TransportError::Timeout`] and [`TransportError::Broken`] mean the peer may have acted (a
//! forwarded write is then "unknown", never "failed").

use std::fmt::Debug;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

/// Delivers internal RPCs. Implementations must be cheap to call concurrently: every Raft
/// group's replication streams share one.
pub trait Transport: Debug + Send + Sync + 'static {
    /// POST `body` to `{base_url}/internal/{path}` and return the 200 reply's body, within
    /// `timeout`.
    fn post(
        &self,
        base_url: &str,
        path: String,
        body: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Bytes, TransportError>>;
}

/// How an internal RPC failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection could be made: the request was not delivered.
    #[error("{url} unreachable: {reason}")]
    Unreachable {
        /// The request's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No reply in time: the peer may or may not have acted.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout {
        /// The request's URL.
        url: String,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// The connection broke after the request was sent: the peer may or may not have acted.
    #[error("{url}: {reason}")]
    Broken {
        /// The request's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The peer answered with an error status (`503`: it does not host the group or is
    /// shutting down; `404`/`400`: it does not understand the request).
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The request's URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the reply body.
        body: String,
    },
}

impl TransportError {
    /// Whether the peer certainly did not act on the request, so retrying it elsewhere cannot
    /// apply it twice.
    pub fn not_delivered(&self) -> bool {
        match self {
            TransportError::Unreachable { .. } => true,
            TransportError::Status { .. } => true,
            TransportError::Timeout { .. } | TransportError::Broken { .. } => false,
        }
    }

    /// Whether the peer is, for now, not serving the request (down, starting, not hosting the
    /// group yet): Raft should back off as from an unreachable node.
    pub fn is_unavailable(&self) -> bool {
        match self {
            TransportError::Unreachable { .. } => true,
            TransportError::Status { status, .. } => *status == 503,
            TransportError::Timeout { .. } | TransportError::Broken { .. } => false,
        }
    }
}
