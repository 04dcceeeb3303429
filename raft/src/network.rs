//! The peer network: how nodes of the receiver cluster talk to each other.
//!
//! Every internal RPC is an HTTP `POST {peer}/internal/{path}` with a postcard body, served by
//! the `api` crate's router, which hands it verbatim to
//! [`Node::handle_internal`](crate::node::Node::handle_internal). Raft's own RPCs
//! (append, vote, snapshot chunks) are one route family per group; forwarded writes, reads,
//! status, joins and meta proposals are the others ([`path`]).
//!
//! The transport is behind a trait ([`transport::Transport`]) so the same node runtime runs over
//! reqwest in production ([`http_transport`]) and over direct calls in tests, and so a
//! transport failure is classified once: "not delivered" (safe to retry elsewhere) versus
//! "delivered, no answer" (the outcome is unknown).

pub mod http_transport;
pub mod messages;
pub mod path;
pub mod raft_network;
pub mod transport;
