//! node_exporter 1.5: a real scrape target with a few hundred realistic series.

use std::path::Path;

use anyhow::Result;

use super::{peer_binary, Peer};
use crate::ports::free_loopback_addr;

/// A running `prometheus-node-exporter`.
#[derive(Debug)]
pub struct NodeExporter {
    pub peer: Peer,
}

impl NodeExporter {
    /// Starts node_exporter with its default collectors, logging under `dir`.
    pub async fn start(dir: &Path) -> Result<Self> {
        let program = peer_binary("prometheus-node-exporter")?;
        let addr = free_loopback_addr()?;
        let args = vec![format!("--web.listen-address={addr}")];
        let peer = Peer::start("node-exporter", &program, args, dir, addr, "/metrics").await?;
        Ok(Self { peer })
    }

    /// `host:port`, as a scrape config's target.
    pub fn target(&self) -> String {
        self.peer.addr().to_string()
    }
}
