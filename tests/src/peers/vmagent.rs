//! vmagent (from the victoria-metrics package): the benchmark's reference agent.

use std::path::Path;

use anyhow::Result;

use super::{peer_binary, Peer};
use crate::ports::free_loopback_addr;

/// A running vmagent.
#[derive(Debug)]
pub struct VmAgent {
    pub peer: Peer,
}

impl VmAgent {
    /// Starts vmagent scraping per `scrape_config` (a prometheus.yml without `remote_write`,
    /// which vmagent's strict parser rejects) and shipping to `remote_write_url`; its
    /// persistent queue lives in `dir/vmagent-data`.
    pub async fn start(dir: &Path, scrape_config: &Path, remote_write_url: &str) -> Result<Self> {
        let program = peer_binary("vmagent")?;
        let addr = free_loopback_addr()?;
        let args = vec![
            format!("-httpListenAddr={addr}"),
            format!("-promscrape.config={}", scrape_config.display()),
            format!("-remoteWrite.url={remote_write_url}"),
            format!(
                "-remoteWrite.tmpDataPath={}",
                dir.join("vmagent-data").display()
            ),
        ];
        let peer = Peer::start("vmagent", &program, args, dir, addr, "/health").await?;
        Ok(Self { peer })
    }
}
