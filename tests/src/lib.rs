//! Integration tests and benchmark harnesses for Skyview, run against real peers.
//!
//! This crate drives the `skyview` binary from outside, through its command line and HTTP
//! endpoints only, next to the real Prometheus, VictoriaMetrics, vmagent and node_exporter
//! from Debian's packages. It owns the harness: child processes that die with the test
//! ([`process`]), the peers ([`peers`]), the agent ([`skyview`]), prometheus.yml files
//! ([`prom_config`]), synthetic and misbehaving scrape targets ([`targets`],
//! [`bad_targets`]), a misbehaving remote-write receiver ([`fake_receiver`]), a PromQL client
//! ([`promql`]), completeness checks ([`completeness`]), and process CPU and memory figures
//! ([`proc_stats`], [`bench_report`]).
//!
//! For the receiver cluster it has the cluster as `skyview receiver` child processes
//! ([`receiver`]) and as [`Node`](skyview_raft::node::Node)s served in the test's own process
//! ([`cluster`]), the cluster status both answer ([`receiver_status`]), a remote-write sender
//! and select reader ([`remote_write_client`]), what a test expects to read back
//! ([`receiver_expected`]), and a load of identified batches with its exactly-once check
//! ([`receiver_load`]).
//!
//! From the workspace it uses only shared vocabulary (the Prometheus duration type, the
//! staleness marker, the remote-write codec, the cluster's status and sharding function) and,
//! for the in-process cluster, the node and router the binary wires together; never the agent's
//! or the node's internals: what it checks is what a user of the binary can observe.

pub mod bad_targets;
pub mod bench_report;
pub mod cluster;
pub mod completeness;
pub mod exposition;
pub mod fake_receiver;
pub mod grafana_calls;
pub mod metadata;
pub mod peers;
pub mod ports;
pub mod proc_stats;
pub mod process;
pub mod prom_config;
pub mod promql;
pub mod promql_compat;
pub mod readiness;
pub mod receiver;
pub mod receiver_expected;
pub mod receiver_load;
pub mod receiver_status;
pub mod remote_write_client;
pub mod skyview;
pub mod targets;
pub mod wait;
