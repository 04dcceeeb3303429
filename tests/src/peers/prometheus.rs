//! Prometheus 2.42, as a remote-write receiver (server mode with
//! `--web.enable-remote-write-receiver`) or as the agent the benchmark compares against
//! (`--enable-feature=agent`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{peer_binary, Peer};
use crate::ports::free_loopback_addr;
use crate::promql::PromQl;

/// A running Prometheus.
#[derive(Debug)]
pub struct Prometheus {
    pub peer: Peer,
}

impl Prometheus {
    /// Starts a server that scrapes nothing and accepts remote writes at
    /// [`Self::write_url`]; its TSDB lives in `dir/prometheus-data`.
    pub async fn start_receiver(dir: &Path) -> Result<Self> {
        let config = dir.join("prometheus-receiver.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n")
            .with_context(|| format!("writing {}", config.display()))?;
        let data = dir.join("prometheus-data");
        Self::start(
            "prometheus-receiver",
            dir,
            vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", data.display()),
                "--web.enable-remote-write-receiver".to_owned(),
            ],
        )
        .await
    }

    /// Starts Prometheus in agent mode with `config` (a prometheus.yml with `remote_write`);
    /// its WAL lives in `dir/prometheus-agent-data`.
    pub async fn start_agent(dir: &Path, config: &Path) -> Result<Self> {
        let data: PathBuf = dir.join("prometheus-agent-data");
        Self::start(
            "prometheus-agent",
            dir,
            vec![
                "--enable-feature=agent".to_owned(),
                format!("--config.file={}", config.display()),
                format!("--storage.agent.path={}", data.display()),
            ],
        )
        .await
    }

    async fn start(name: &str, dir: &Path, mut args: Vec<String>) -> Result<Self> {
        let program = peer_binary("prometheus")?;
        let addr = free_loopback_addr()?;
        args.push(format!("--web.listen-address={addr}"));
        let peer = Peer::start(name, &program, args, dir, addr, "/-/ready").await?;
        Ok(Self { peer })
    }

    /// The remote-write endpoint of a receiver.
    pub fn write_url(&self) -> String {
        self.peer.url("/api/v1/write")
    }

    pub fn promql(&self) -> Result<PromQl> {
        PromQl::new(self.peer.url(""))
    }
}
