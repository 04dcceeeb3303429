//! Integration tests and benchmark harnesses for Skyview, run against real peers.
//!
//! This crate drives the `skyview` binary from outside, through its command line and HTTP
//! endpoints only, next to the real Prometheus, VictoriaMetrics, vmagent and node_exporter
//! from Debian's packages. It owns the harness: child processes that die with the test
//! ([`process`]), the peers ([`peers`]), the agent ([`skyview`]), prometheus.yml files
//! ([`prom_config`]), synthetic and misbehaving scrape targets ([`targets`],
//! [`bad_targets`]), a misbehaving remote-write receiver ([`fake_receiver`]), a PromQL client
//! ([`promql`]), completeness checks ([`completeness`]), and process CPU and memory figures
//! ([`proc_stats`], [`bench_report`]). From the workspace it uses only shared vocabulary (the
//! Prometheus duration type, the staleness marker, the remote-write codec), never the agent's
//! internals: what it checks is what a user of the binary can observe.

pub mod bad_targets;
pub mod bench_report;
pub mod completeness;
pub mod exposition;
pub mod fake_receiver;
pub mod peers;
pub mod ports;
pub mod proc_stats;
pub mod process;
pub mod prom_config;
pub mod promql;
pub mod readiness;
pub mod skyview;
pub mod targets;
pub mod wait;
