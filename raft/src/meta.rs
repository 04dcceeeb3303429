//! The meta group (group 0): the cluster facts every node agrees on besides Raft membership,
//! starting with shard placement and agents' committed high-water marks.

pub mod command;
pub mod snapshot_store;
pub mod state;
pub mod state_machine;
