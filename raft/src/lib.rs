//! The receiver cluster's consensus layer (not built yet; see issue "The receiver cluster").
//!
//! It will own the openraft type configuration, the peer network, the durable Raft log store,
//! the meta group (membership, shard placement, rule groups, alert state, agent registry) and
//! the shard groups' state machines, which apply deduplicated write batches to `storage`.
//!
//! It must not know about HTTP routing or wire formats beyond the batches it replicates: the
//! `api` crate drives it, and it drives `storage`.
