//! The `skyview` binary: command-line parsing and the wiring of each mode. No domain logic.

mod agent_cmd;
mod ctl_cmd;
mod receiver_cmd;
mod up_cmd;

use clap::{Parser, Subcommand};

/// Ingest allocates and frees many small label strings per sample on every worker thread.
/// Profiled under `bench-ingest`, glibc's allocator spent about a third of the receiver's CPU in
/// `malloc_consolidate`, `unlink_chunk` and friends; mimalloc's per-thread free lists do not.
/// Its `no_thp` build keeps its arenas off transparent huge pages, which otherwise cost about
/// 100 MB more peak RSS and the CPU to zero them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run one node of the receiver cluster: Prometheus remote write in, replicated with Raft
    /// across the nodes, stored in shards.
    Receiver(Box<receiver_cmd::ReceiverArgs>),
    /// Admin commands against a running cluster (status, remove-node).
    Ctl(ctl_cmd::CtlArgs),
    /// An all-in-one local setup: a 3-node cluster on 127.0.0.1:9201-9203 and an agent on
    /// 127.0.0.1:9200 scraping it and any --target.
    Up(up_cmd::UpArgs),
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
        Command::Receiver(args) => receiver_cmd::run(*args),
        Command::Ctl(args) => ctl_cmd::run(args),
        Command::Up(args) => up_cmd::run(args),
    }
}
