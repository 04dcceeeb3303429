//! Driving `skyview agent` from outside, through its command line and HTTP endpoints only.
//!
//! The binary is not a dependency of this crate (Cargo gives `CARGO_BIN_EXE_*` only to the
//! binary's own package), so it is found next to the test executable:
//! `target/<profile>/deps/<test>` -> `target/<profile>/skyview`. The test command builds it
//! first; a missing binary is an error that says how to build it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::exposition::sum_matching;
use crate::ports::free_loopback_addr;
use crate::process::ChildProcess;
use crate::readiness::wait_ready;

/// How long a clean shutdown may take (the agent fsyncs its WAL and persists cursors).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `skyview` executable of the profile this test binary was built with.
pub fn skyview_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let mut dir = exe.parent().context("test executable has no directory")?;
    // Test binaries live in target/<profile>/deps, other binaries in target/<profile>.
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps directory has no parent")?;
    }
    let binary = dir.join("skyview");
    if !binary.is_file() {
        bail!(
            "{} not found; build it first with `cargo build --bin skyview` (add --release for the benchmark)",
            binary.display()
        );
    }
    Ok(binary)
}

/// Where the agent keeps its state and which flags it gets besides the required ones.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// `--config.file`.
    pub config: PathBuf,
    /// `--storage.agent.path`.
    pub storage: PathBuf,
    /// Directory for the log file.
    pub log_dir: PathBuf,
    /// `--storage.agent.retention.max-time`, e.g. `1h`.
    pub retention_max_time: Option<String>,
    /// `--storage.agent.retention.max-size`, in bytes.
    pub retention_max_size: Option<u64>,
}

impl AgentOptions {
    /// Config at `dir/skyview.yml`, storage at `dir/skyview-data`, log in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            config: dir.join("skyview.yml"),
            storage: dir.join("skyview-data"),
            log_dir: dir.to_owned(),
            retention_max_time: None,
            retention_max_size: None,
        }
    }
}

/// A running (or stopped, restartable) `skyview agent`.
#[derive(Debug)]
pub struct SkyviewAgent {
    process: ChildProcess,
    addr: SocketAddr,
    options: AgentOptions,
    http: reqwest::Client,
}

impl SkyviewAgent {
    /// Starts the agent with `options` and waits until `/-/ready` answers 200.
    pub async fn start(options: AgentOptions) -> Result<Self> {
        let binary = skyview_binary()?;
        let addr = free_loopback_addr()?;
        let mut args = vec![
            "agent".to_owned(),
            format!("--config.file={}", options.config.display()),
            format!("--storage.agent.path={}", options.storage.display()),
            format!("--web.listen-address={addr}"),
        ];
        if let Some(max_time) = &options.retention_max_time {
            args.push(format!("--storage.agent.retention.max-time={max_time}"));
        }
        if let Some(max_size) = options.retention_max_size {
            args.push(format!("--storage.agent.retention.max-size={max_size}"));
        }
        let log = options.log_dir.join("skyview.log");
        let process = ChildProcess::spawn("skyview-agent", &binary, args, log)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut agent = Self {
            process,
            addr,
            options,
            http,
        };
        agent.wait_ready().await?;
        Ok(agent)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let url = self.url("/-/ready");
        wait_ready(&mut self.process, &url).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn options(&self) -> &AgentOptions {
        &self.options
    }

    pub fn process(&self) -> &ChildProcess {
        &self.process
    }

    /// Stops the agent cleanly (SIGTERM; SIGKILL if it does not exit in time).
    pub async fn stop(&mut self) -> Result<()> {
        self.process.terminate(STOP_TIMEOUT).await
    }

    /// Kills the agent with SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) -> Result<()> {
        self.process.kill9()
    }

    /// Starts the stopped or killed agent again with the same flags, address and storage.
    pub async fn restart(&mut self) -> Result<()> {
        self.process.restart()?;
        self.wait_ready().await
    }

    /// The text of `/metrics`.
    pub async fn metrics_text(&self) -> Result<String> {
        let url = self.url("/metrics");
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        Ok(response.text().await?)
    }

    /// The sum of the self-metric `name` over the series whose labels include `matchers`;
    /// 0 when no series matches (a labelled counter appears only once incremented).
    pub async fn metric(&self, name: &str, matchers: &[(&str, &str)]) -> Result<f64> {
        let text = self.metrics_text().await?;
        Ok(sum_matching(&text, name, matchers).unwrap_or(0.0))
    }
}
