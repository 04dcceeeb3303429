//! What every started peer has in common: a process, a listen address, a health endpoint.
//!
//! Stopping and restarting keep the same address and data directory, so a remote-write URL
//! handed to the agent stays valid across a receiver outage.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::process::ChildProcess;
use crate::readiness::wait_ready;

/// How long a peer gets to shut down cleanly (VictoriaMetrics flushes its in-memory parts).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running (or stopped, restartable) peer process.
#[derive(Debug)]
pub struct Peer {
    process: ChildProcess,
    addr: SocketAddr,
    health_path: &'static str,
}

impl Peer {
    /// Starts `program` and waits until `http://addr{health_path}` answers 200.
    pub async fn start(
        name: &str,
        program: &Path,
        args: Vec<String>,
        log_dir: &Path,
        addr: SocketAddr,
        health_path: &'static str,
    ) -> Result<Self> {
        let log = log_dir.join(format!("{name}.log"));
        let process = ChildProcess::spawn(name, program, args, log)?;
        let mut peer = Self {
            process,
            addr,
            health_path,
        };
        peer.wait_ready().await?;
        Ok(peer)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let url = self.url(self.health_path);
        wait_ready(&mut self.process, &url).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Stops the peer cleanly (SIGTERM, then SIGKILL if it lingers).
    pub async fn stop(&mut self) -> Result<()> {
        self.process.terminate(STOP_TIMEOUT).await
    }

    /// Starts the stopped peer again on the same address and data, and waits until it is ready.
    pub async fn restart(&mut self) -> Result<()> {
        self.process.restart()?;
        self.wait_ready().await
    }
}
