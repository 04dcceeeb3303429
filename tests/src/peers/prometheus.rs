//! Prometheus 2.42, as a remote-write receiver (server mode with
//! `--web.enable-remote-write-receiver`), as a server with any configuration (remote read,
//! federation), or as the agent the benchmark compares against (`--enable-feature=agent`).

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
        Self::start_server(
            dir,
            "prometheus-receiver",
            "global:\n  scrape_interval: 15s\n",
            &["--web.enable-remote-write-receiver"],
        )
        .await
    }

    /// Starts a server named `name` with `config` as its prometheus.yml and `extra_args`; its
    /// config is `dir/{name}.yml` and its TSDB `dir/{name}-data`.
    pub async fn start_server(
        dir: &Path,
        name: &str,
        config: &str,
        extra_args: &[&str],
    ) -> Result<Self> {
        let config_path = dir.join(format!("{name}.yml"));
        std::fs::write(&config_path, config)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let data = dir.join(format!("{name}-data"));
        let mut args = vec![
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", data.display()),
        ];
        args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
        Self::start(name, dir, args).await
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
