//! The agent's supervisor: owns the running components and applies configuration reloads.
//!
//! A reload re-reads the file; if it is invalid the running configuration stays and the error
//! is returned (and `config_last_reload_successful` goes to 0), as in Prometheus. If it is
//! valid: discovery restarts with the new jobs, the scrape manager keeps the loops of targets
//! whose settings did not change, and each shipper whose endpoint settings changed is stopped
//! and started again. Stopping a shipper loses nothing: its cursors are on disk and the WAL
//! keeps every segment it has not acknowledged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix::prelude::*;

use crate::config::{Config, RemoteWriteConfig};
use crate::discovery::Discovery;
use crate::metrics::AgentMetrics;
use crate::scrape::{self, ScrapeManager};
use crate::shipper::{consumer_name, MetadataSender, Shipper, StopMetadataSender, StopShipper};
use crate::wal::{Subscribe, Unsubscribe, Wal};

/// Reloads the configuration file. The error is the loader's message (file, line, field).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), String>")]
pub struct Reload;

/// The `data` of `/api/v1/targets`.
#[derive(Debug, Message)]
#[rtype(result = "serde_json::Value")]
pub struct GetTargets;

/// The running configuration with secrets redacted, for `/api/v1/status/config`.
#[derive(Debug, Message)]
#[rtype(result = "String")]
pub struct GetConfigYaml;

/// One running shipper and the settings it was started with.
#[derive(Debug)]
struct RunningShipper {
    config: RemoteWriteConfig,
    external_labels: BTreeMap<String, String>,
    addr: Addr<Shipper>,
    /// The endpoint's metadata sender, unless `metadata_config.send` is off.
    metadata: Option<Addr<MetadataSender>>,
}

/// Everything a shipper needs besides its endpoint config.
#[derive(Debug, Clone)]
pub struct ShipperContext {
    pub agent_id: String,
    pub wal: Addr<Wal>,
    pub wal_dir: PathBuf,
    pub state_dir: PathBuf,
    pub metrics: Arc<AgentMetrics>,
}

#[derive(Debug)]
pub struct Supervisor {
    config_file: PathBuf,
    config: Config,
    scrape_manager: Addr<ScrapeManager>,
    discovery: Addr<Discovery>,
    shippers: BTreeMap<String, RunningShipper>,
    ctx: ShipperContext,
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

impl Supervisor {
    /// Starts every component for `config` and returns the supervisor owning them.
    pub fn start_all(config_file: PathBuf, config: Config, ctx: ShipperContext) -> Addr<Self> {
        let scrape_manager =
            ScrapeManager::new(&config, ctx.wal.clone().recipient(), ctx.metrics.clone()).start();
        let discovery =
            Discovery::new(Arc::new(config.clone()), scrape_manager.clone().recipient()).start();
        // Every endpoint is registered with the WAL before any shipper runs: a consumer that
        // has not reported yet holds back truncation, so a fast shipper cannot let the WAL
        // delete segments a slower-starting one still needs.
        for rw in &config.remote_write {
            ctx.wal.do_send(Subscribe {
                consumer: consumer_name(rw),
            });
        }
        let mut supervisor = Supervisor {
            config_file,
            config: Config::default(),
            scrape_manager,
            discovery,
            shippers: BTreeMap::new(),
            ctx,
        };
        supervisor.reconcile_shippers(&config);
        supervisor.config = config;
        supervisor.start()
    }

    /// Starts, restarts or stops shippers so that exactly the configured endpoints run, each
    /// with its current settings.
    fn reconcile_shippers(&mut self, config: &Config) {
        // Keyed by WAL consumer name, which is what the endpoint's cursors and WAL retention
        // hang on: a changed entry for the same endpoint restarts its shipper without ever
        // releasing the WAL segments it has not acknowledged.
        let wanted: BTreeMap<String, &RemoteWriteConfig> = config
            .remote_write
            .iter()
            .map(|rw| (consumer_name(rw), rw))
            .collect();
        let external = &config.global.external_labels;
        let stale: Vec<String> = self
            .shippers
            .iter()
            .filter(|(name, running)| {
                wanted.get(*name).is_none_or(|cfg| {
                    **cfg != running.config || *external != running.external_labels
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(running) = self.shippers.remove(&name) {
                running.addr.do_send(StopShipper);
                if let Some(metadata) = &running.metadata {
                    metadata.do_send(StopMetadataSender);
                }
                if !wanted.contains_key(&name) {
                    self.ctx.wal.do_send(Unsubscribe {
                        consumer: name.clone(),
                    });
                }
                tracing::info!(consumer = %name, url = %running.config.url, "stopped remote-write shipper");
            }
        }
        for (name, cfg) in wanted {
            if self.shippers.contains_key(&name) {
                continue;
            }
            let shipper = Shipper::new(
                cfg.clone(),
                external.clone(),
                self.ctx.agent_id.clone(),
                self.ctx.wal.clone(),
                self.ctx.wal_dir.clone(),
                self.ctx.state_dir.clone(),
                self.ctx.metrics.clone(),
            );
            let addr = match shipper {
                Ok(shipper) => shipper.start(),
                Err(e) => {
                    // Validated config can still fail here (an unreadable CA file, say). The
                    // endpoint's data stays in the WAL; the next reload retries.
                    tracing::error!(consumer = %name, url = %cfg.url, error = %e, "cannot start remote-write shipper");
                    continue;
                }
            };
            tracing::info!(consumer = %name, url = %cfg.url, "started remote-write shipper");
            let metadata = cfg
                .metadata_config
                .send
                .then(|| MetadataSender::new(cfg, self.scrape_manager.clone().recipient()))
                .and_then(|sender| match sender {
                    Ok(sender) => Some(sender.start()),
                    Err(e) => {
                        tracing::error!(consumer = %name, url = %cfg.url, error = %e, "cannot start the metadata sender");
                        None
                    }
                });
            self.shippers.insert(
                name,
                RunningShipper {
                    config: cfg.clone(),
                    external_labels: external.clone(),
                    addr,
                    metadata,
                },
            );
        }
    }
}

impl Handler<Reload> for Supervisor {
    type Result = Result<(), String>;

    #[tracing::instrument(skip_all, fields(file = %self.config_file.display()))]
    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        let metrics = self.ctx.metrics.clone();
        let config = match Config::load(&self.config_file) {
            Ok(config) => config,
            Err(e) => {
                metrics.config_last_reload_successful.set(0);
                tracing::error!(error = %e, "configuration reload failed; keeping the running configuration");
                return Err(e.to_string());
            }
        };
        self.discovery.do_send(crate::discovery::StopDiscovery);
        self.scrape_manager
            .do_send(scrape::ApplyConfig(config.clone()));
        self.discovery = Discovery::new(
            Arc::new(config.clone()),
            self.scrape_manager.clone().recipient(),
        )
        .start();
        self.reconcile_shippers(&config);
        self.config = config;
        metrics.config_last_reload_successful.set(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        metrics
            .config_last_reload_success_timestamp_seconds
            .set(now as i64);
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

impl Handler<GetTargets> for Supervisor {
    type Result = ResponseFuture<serde_json::Value>;

    fn handle(&mut self, _: GetTargets, _: &mut Self::Context) -> Self::Result {
        let request = self.scrape_manager.send(scrape::GetTargets);
        Box::pin(async move {
            match request.await {
                Ok(status) => serde_json::to_value(status).unwrap_or_default(),
                Err(_) => serde_json::json!({"activeTargets": [], "droppedTargets": []}),
            }
        })
    }
}

impl Handler<GetConfigYaml> for Supervisor {
    type Result = String;

    fn handle(&mut self, _: GetConfigYaml, _: &mut Self::Context) -> Self::Result {
        self.config.to_redacted_yaml()
    }
}
