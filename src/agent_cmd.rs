//! `skyview agent`: flags named like Prometheus's agent mode, so a user can swap binaries.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use skyview_actors::agent::{self, AgentOptions};
use skyview_actors::config::{ByteSize, PromDuration};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Prometheus configuration file (the agent-mode subset: global, scrape_configs,
    /// remote_write). Unsupported Prometheus fields are rejected by name at startup.
    #[arg(long = "config.file", default_value = "prometheus.yml")]
    config_file: PathBuf,

    /// Directory of the agent's write-ahead log, remote-write cursors and agent id. Samples
    /// stay here until every remote_write endpoint has acknowledged them.
    #[arg(long = "storage.agent.path", default_value = "data-agent/")]
    storage_path: PathBuf,

    /// Address the agent's HTTP server listens on (/metrics, /-/reload, /api/v1/targets).
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090")]
    listen_address: SocketAddr,

    /// Age budget of the WAL: samples older than this are deleted even if not yet delivered
    /// (counted in skyview_agent_wal_dropped_samples_total). 0 disables the limit.
    #[arg(long = "storage.agent.retention.max-time", default_value = "0", value_parser = parse_duration)]
    retention_max_time: Duration,

    /// Size budget of the WAL (e.g. 512MB): the oldest segments are deleted beyond it, even if
    /// not yet delivered (counted). 0 disables the limit.
    #[arg(long = "storage.agent.retention.max-size", default_value = "0", value_parser = parse_size)]
    retention_max_size: u64,

    /// WAL segment file size (e.g. 32MB). Smaller segments free disk sooner after delivery.
    #[arg(long = "storage.agent.wal-segment-size", default_value = "32MB", value_parser = parse_size)]
    wal_segment_size: u64,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    PromDuration::parse(s).map(PromDuration::as_duration)
}

fn parse_size(s: &str) -> Result<u64, String> {
    ByteSize::parse(s).map(|b| b.0)
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let options = AgentOptions {
        config_file: args.config_file,
        storage_path: args.storage_path,
        listen_address: args.listen_address,
        retention_max_time: args.retention_max_time,
        retention_max_size: args.retention_max_size,
        wal_segment_size: args.wal_segment_size,
    };
    actix_rt::System::new().block_on(agent::run(options))?;
    Ok(())
}
