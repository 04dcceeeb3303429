//! The real peers from Debian's packages: Prometheus 2.42 (remote-write receiver and agent
//! mode), VictoriaMetrics 1.79 single node, vmagent and node_exporter 1.5.
//!
//! Each runs as a child process on an ephemeral loopback port with its data and log under the
//! test's temporary directory, is ready when its health endpoint answers, and dies with its
//! handle.

pub mod binary;
pub mod node_exporter;
pub mod peer;
pub mod prometheus;
pub mod victoria_metrics;
pub mod vmagent;

pub use binary::{peer_binary, INSTALL_PEERS};
pub use node_exporter::NodeExporter;
pub use peer::Peer;
pub use prometheus::Prometheus;
pub use victoria_metrics::{VictoriaMetrics, VictoriaMetricsOptions};
pub use vmagent::VmAgent;
