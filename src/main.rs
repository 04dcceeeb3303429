//! The `skyview` binary: command-line parsing and the wiring of each mode. No domain logic.

mod agent_cmd;

use clap::{Parser, Subcommand};

/// Skyview: one pane of glass over many Prometheus-scraped clusters and edge devices.
#[derive(Debug, Parser)]
#[command(name = "skyview", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the edge agent: scrape targets from a prometheus.yml, keep every sample in a local
    /// WAL until delivered, and ship it with Prometheus remote write.
    Agent(agent_cmd::AgentArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Agent(args) => agent_cmd::run(args),
    }
}
