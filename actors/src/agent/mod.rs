//! `skyview agent`: starts the WAL, shippers, scrape manager, discovery and the HTTP server,
//! and turns signals into reloads (SIGHUP) or a clean stop (SIGINT, SIGTERM).

mod http;
mod identity;
mod supervisor;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::config::{Config, ConfigError};
use crate::metrics::AgentMetrics;
use crate::wal::{Wal, WalError, WalOptions};
use supervisor::{Reload, ShipperContext, Supervisor};

/// The agent's command-line settings.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub config_file: PathBuf,
    pub storage_path: PathBuf,
    pub listen_address: SocketAddr,
    /// Age budget of the WAL (zero: none).
    pub retention_max_time: Duration,
    /// Size budget of the WAL in bytes (zero: none).
    pub retention_max_size: u64,
    pub wal_segment_size: u64,
}

/// Why the agent could not start. Each variant names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage directory {path}: {source}")]
    Storage {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("write-ahead log: {0}")]
    Wal(#[from] WalError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("signal handling: {0}")]
    Signal(std::io::Error),
}

/// Runs the agent until SIGINT or SIGTERM. Must be called inside an actix system.
pub async fn run(options: AgentOptions) -> Result<(), AgentError> {
    let config = Config::load(&options.config_file)?;
    let storage = |source| AgentError::Storage {
        path: options.storage_path.clone(),
        source,
    };
    std::fs::create_dir_all(&options.storage_path).map_err(storage)?;
    let agent_id = identity::load_or_create(&options.storage_path).map_err(storage)?;
    let metrics = Arc::new(AgentMetrics::new());
    metrics.config_last_reload_successful.set(1);

    let wal_dir = options.storage_path.join("wal");
    let wal = Wal::start(
        WalOptions {
            dir: wal_dir.clone(),
            segment_size: options.wal_segment_size,
            max_bytes: options.retention_max_size,
            max_age: options.retention_max_time,
            ..WalOptions::default()
        },
        metrics.clone(),
    )?;
    let ctx = ShipperContext {
        agent_id: agent_id.clone(),
        wal,
        wal_dir,
        state_dir: options.storage_path.join("remote"),
        metrics: metrics.clone(),
    };
    let supervisor = Supervisor::start_all(options.config_file.clone(), config, ctx);

    let listener = tokio::net::TcpListener::bind(options.listen_address)
        .await
        .map_err(|source| AgentError::Listen {
            address: options.listen_address,
            source,
        })?;
    let ready = Arc::new(AtomicBool::new(false));
    let app = http::router(http::HttpState {
        metrics,
        supervisor: supervisor.clone(),
        ready: ready.clone(),
    });
    actix_rt::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "agent HTTP server stopped");
        }
    });
    ready.store(true, Ordering::Release);
    tracing::info!(
        agent_id = %agent_id,
        listen = %options.listen_address,
        storage = %options.storage_path.display(),
        "skyview agent started"
    );

    let mut hup = signal(SignalKind::hangup()).map_err(AgentError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(AgentError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AgentError::Signal)?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                // The outcome is logged and exported by the supervisor.
                let _ = supervisor.send(Reload).await;
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("skyview agent stopping");
    Ok(())
}
