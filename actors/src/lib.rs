//! The Skyview edge agent: actix actors that scrape Prometheus targets, keep every sample in a
//! write-ahead log until it is delivered, and ship it with the remote-write protocol.
//!
//! It owns the Scraper, Wal and Shipper actors, target discovery, the exposition-format
//! parser, the relabel engine and the agent's configuration model (a `prometheus.yml`
//! subset). It knows remote write only through the wire types of `skyview-api`, and it knows
//! nothing of the receiver cluster's Raft or storage.

pub mod agent;
pub mod config;
pub mod discovery;
pub mod exposition;
pub mod labels;
pub mod metrics;
pub mod relabel;
pub mod sample;
pub mod scrape;
pub mod shipper;
pub mod wal;
