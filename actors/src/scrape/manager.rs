//! The ScrapeManager actor: keeps one [`Scraper`] per discovered target, per job.
//!
//! - [`TargetsUpdated`] (from discovery) reconciles a job's scrapers with [`plan`]: identical
//!   targets keep their loop and cache, changed ones are updated in place, vanished ones are
//!   stopped (writing their stale markers), new ones are started.
//! - [`ApplyConfig`] (reload) re-resolves each job's settings. Unchanged jobs are untouched;
//!   a job whose changes cannot alter series labels (timing, limits, HTTP) updates its
//!   scrapers in place and they keep their caches; any other change restarts its scrapers
//!   with fresh caches (the old ones write stale markers). Removed jobs stop their scrapers.
//! - [`GetTargets`] answers `/api/v1/targets`.
//! - [`GetMetadata`] gathers every target's metric metadata for the remote-write metadata
//!   senders.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use super::client::ScrapeClient;
use super::error::ScrapeError;
use super::metadata::{MetricMetadata, SharedMetadata};
use super::reconcile::{plan, target_key, TargetKey};
use super::scraper::{Scraper, StopScraper, UpdateScraper};
use super::settings::ScrapeSettings;
use super::status::{ActiveTarget, DroppedTarget, SharedHealth, TargetsStatus};
use crate::config::{Config, GlobalConfig};
use crate::discovery::{Target, TargetsUpdated};
use crate::labels::Labels;
use crate::metrics::{AgentMetrics, JobLabels};
use crate::wal::Append;

/// Replaces the scrape configuration (config reload).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ApplyConfig(pub Config);

/// Asks for the status of every target.
#[derive(Debug, Message)]
#[rtype(result = "TargetsStatus")]
pub struct GetTargets;

/// Asks for the metric metadata of every target, one entry per metric family (the first
/// target's, by job and target, when targets disagree).
#[derive(Debug, Message)]
#[rtype(result = "Vec<MetricMetadata>")]
pub struct GetMetadata;

/// A running scraper.
#[derive(Debug)]
struct Running {
    target: Target,
    addr: Addr<Scraper>,
    health: SharedHealth,
    metadata: SharedMetadata,
}

/// One job's settings and scrapers.
#[derive(Debug)]
struct Job {
    settings: Arc<ScrapeSettings>,
    client: Result<ScrapeClient, ScrapeError>,
    running: BTreeMap<TargetKey, Running>,
    dropped: Vec<Labels>,
}

/// Reconciles Scraper actors with discovered targets and the configuration.
#[derive(Debug)]
pub struct ScrapeManager {
    jobs: BTreeMap<String, Job>,
    wal: Recipient<Append>,
    metrics: Arc<AgentMetrics>,
}

impl ScrapeManager {
    pub fn new(config: &Config, wal: Recipient<Append>, metrics: Arc<AgentMetrics>) -> Self {
        let jobs = config
            .scrape_configs
            .iter()
            .map(|sc| {
                (
                    sc.job_name.clone(),
                    new_job(ScrapeSettings::from_config(sc, &config.global)),
                )
            })
            .collect();
        Self { jobs, wal, metrics }
    }

    fn spawn_scraper(&self, job: &Job, target: Target) -> Running {
        let health = SharedHealth::default();
        let metadata = SharedMetadata::default();
        let addr = Scraper::new(
            target.clone(),
            Arc::clone(&job.settings),
            job.client.clone(),
            self.wal.clone(),
            Arc::clone(&self.metrics),
            Arc::clone(&health),
            Arc::clone(&metadata),
        )
        .start();
        Running {
            target,
            addr,
            health,
            metadata,
        }
    }

    fn set_target_gauge(&self, job: &str, n: usize) {
        self.metrics
            .targets
            .get_or_create(&JobLabels {
                job: job.to_owned(),
            })
            .set(n as i64);
    }

    /// Applies new settings to one existing job.
    fn reconfigure(&mut self, name: &str, settings: Arc<ScrapeSettings>) {
        let Some(mut job) = self.jobs.remove(name) else {
            return;
        };
        if *job.settings == *settings {
            self.jobs.insert(name.to_owned(), job);
            return;
        }
        let keep_caches = job.settings.cache_compatible(&settings);
        if job.settings.http != settings.http {
            job.client = build_client(&settings);
        }
        job.settings = Arc::clone(&settings);
        let running = std::mem::take(&mut job.running);
        for (key, mut r) in running {
            r.target.interval = settings.interval;
            r.target.timeout = settings.timeout;
            let r = if keep_caches {
                r.addr.do_send(UpdateScraper {
                    target: r.target.clone(),
                    settings: Arc::clone(&settings),
                    client: job.client.clone(),
                });
                r
            } else {
                r.addr.do_send(StopScraper);
                self.spawn_scraper(&job, r.target)
            };
            job.running.insert(key, r);
        }
        tracing::info!(job = name, keep_caches, "scrape settings changed");
        self.jobs.insert(name.to_owned(), job);
    }
}

fn new_job(settings: Arc<ScrapeSettings>) -> Job {
    Job {
        client: build_client(&settings),
        settings,
        running: BTreeMap::new(),
        dropped: Vec::new(),
    }
}

fn build_client(settings: &ScrapeSettings) -> Result<ScrapeClient, ScrapeError> {
    ScrapeClient::new(settings).inspect_err(|e| {
        tracing::error!(job = %settings.job, error = %e, "cannot build the scrape HTTP client; the job's scrapes will fail")
    })
}

impl Actor for ScrapeManager {
    type Context = Context<Self>;
}

impl Handler<TargetsUpdated> for ScrapeManager {
    type Result = ();

    #[tracing::instrument(skip_all, fields(job = %msg.job, active = msg.active.len(), dropped = msg.dropped.len()))]
    fn handle(&mut self, msg: TargetsUpdated, _: &mut Context<Self>) {
        let Some(mut job) = self.jobs.remove(&msg.job) else {
            tracing::warn!("targets for a job that is not configured; ignored");
            return;
        };
        let current: BTreeMap<TargetKey, Target> = job
            .running
            .iter()
            .map(|(k, r)| (k.clone(), r.target.clone()))
            .collect();
        let changes = plan(&current, msg.active);
        for key in &changes.stop {
            if let Some(r) = job.running.remove(key) {
                r.addr.do_send(StopScraper);
            }
        }
        for target in changes.update {
            if let Some(r) = job.running.get_mut(&target_key(&target)) {
                r.addr.do_send(UpdateScraper {
                    target: target.clone(),
                    settings: Arc::clone(&job.settings),
                    client: job.client.clone(),
                });
                r.target = target;
            }
        }
        for target in changes.start {
            let running = self.spawn_scraper(&job, target);
            job.running.insert(target_key(&running.target), running);
        }
        job.dropped = msg.dropped;
        self.set_target_gauge(&msg.job, job.running.len());
        self.jobs.insert(msg.job, job);
    }
}

impl Handler<ApplyConfig> for ScrapeManager {
    type Result = ();

    #[tracing::instrument(skip_all, fields(jobs = msg.0.scrape_configs.len()))]
    fn handle(&mut self, msg: ApplyConfig, _: &mut Context<Self>) {
        let global: &GlobalConfig = &msg.0.global;
        let wanted: BTreeMap<&str, Arc<ScrapeSettings>> = msg
            .0
            .scrape_configs
            .iter()
            .map(|sc| {
                (
                    sc.job_name.as_str(),
                    ScrapeSettings::from_config(sc, global),
                )
            })
            .collect();
        let removed: Vec<String> = self
            .jobs
            .keys()
            .filter(|j| !wanted.contains_key(j.as_str()))
            .cloned()
            .collect();
        for name in removed {
            if let Some(job) = self.jobs.remove(&name) {
                for r in job.running.into_values() {
                    r.addr.do_send(StopScraper);
                }
                self.set_target_gauge(&name, 0);
                tracing::info!(job = name, "scrape job removed");
            }
        }
        for (name, settings) in wanted {
            if self.jobs.contains_key(name) {
                self.reconfigure(name, settings);
            } else {
                self.jobs.insert(name.to_owned(), new_job(settings));
            }
        }
    }
}

impl Handler<GetTargets> for ScrapeManager {
    type Result = MessageResult<GetTargets>;

    fn handle(&mut self, _: GetTargets, _: &mut Context<Self>) -> Self::Result {
        let mut status = TargetsStatus::default();
        for job in self.jobs.values() {
            for r in job.running.values() {
                let health = r
                    .health
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                status
                    .active_targets
                    .push(ActiveTarget::new(&r.target, &health));
            }
            status
                .dropped_targets
                .extend(job.dropped.iter().map(DroppedTarget::new));
        }
        MessageResult(status)
    }
}

impl Handler<GetMetadata> for ScrapeManager {
    type Result = MessageResult<GetMetadata>;

    fn handle(&mut self, _: GetMetadata, _: &mut Context<Self>) -> Self::Result {
        let mut families: BTreeMap<String, MetricMetadata> = BTreeMap::new();
        for r in self.jobs.values().flat_map(|job| job.running.values()) {
            let published = Arc::clone(&r.metadata.lock().unwrap_or_else(|p| p.into_inner()));
            for m in published.iter() {
                if !families.contains_key(&m.family) {
                    families.insert(m.family.clone(), m.clone());
                }
            }
        }
        MessageResult(families.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scrape::test_support::{
        is_stale, next_matching, value, RecordingWal, Reply, TestTarget,
    };
    use crate::scrape::Health;

    fn config(yaml: &str) -> Config {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[actix_rt::test]
    async fn reconciles_targets_reports_status_and_stops_removed_targets() {
        let one = TestTarget::start(Reply::Text("m 1\n".into())).await;
        let two = TestTarget::start(Reply::Text("m 2\n".into())).await;
        let (wal, mut appends) = RecordingWal::start();
        let metrics = Arc::new(AgentMetrics::new());
        let cfg = config("scrape_configs: [{job_name: j, scrape_interval: 1s}]");
        let manager = ScrapeManager::new(&cfg, wal, Arc::clone(&metrics)).start();
        let interval = Duration::from_millis(200);
        let (t1, t2) = (
            one.target("j", interval, interval),
            two.target("j", interval, interval),
        );
        let up = |t: &Target| {
            format!(
                "up{{instance=\"{}\", job=\"j\"}}",
                t.labels.get("instance").unwrap()
            )
        };
        let dropped = Labels::from_pairs([("__address__", "dropped:1")]);

        manager
            .send(TargetsUpdated {
                job: "j".into(),
                active: vec![t1.clone(), t2.clone()],
                dropped: vec![dropped],
            })
            .await
            .unwrap();
        next_matching(&mut appends, "a scrape of target 1", |s| {
            value(s, &up(&t1)) == Some(1.0)
        })
        .await;
        next_matching(&mut appends, "a scrape of target 2", |s| {
            value(s, &up(&t2)) == Some(1.0)
        })
        .await;
        assert!(metrics
            .encode()
            .contains("skyview_agent_targets{job=\"j\"} 2"));

        let status = manager.send(GetTargets).await.unwrap();
        assert_eq!(status.active_targets.len(), 2);
        assert_eq!(status.dropped_targets.len(), 1);
        assert!(status
            .active_targets
            .iter()
            .all(|t| t.health == Health::Up && t.scrape_pool == "j"));
        assert!(status
            .active_targets
            .iter()
            .all(|t| t.scrape_interval == "200ms"));

        // Target 2 goes away: its series and report series are marked stale.
        manager
            .send(TargetsUpdated {
                job: "j".into(),
                active: vec![t1.clone()],
                dropped: vec![],
            })
            .await
            .unwrap();
        let m2 = format!(
            "m{{instance=\"{}\", job=\"j\"}}",
            t2.labels.get("instance").unwrap()
        );
        let stale = next_matching(&mut appends, "target 2's stale markers", |s| {
            is_stale(s, &up(&t2))
        })
        .await;
        assert!(is_stale(&stale, &m2));
        assert_eq!(
            manager.send(GetTargets).await.unwrap().active_targets.len(),
            1
        );

        // A reload that removes the job stops target 1 too.
        manager
            .send(ApplyConfig(config("scrape_configs: []")))
            .await
            .unwrap();
        next_matching(&mut appends, "target 1's stale markers", |s| {
            is_stale(s, &up(&t1))
        })
        .await;
        assert!(manager
            .send(GetTargets)
            .await
            .unwrap()
            .active_targets
            .is_empty());
        assert!(metrics
            .encode()
            .contains("skyview_agent_targets{job=\"j\"} 0"));
    }

    #[actix_rt::test]
    async fn reload_keeps_or_restarts_loops_by_what_changed() {
        let http = TestTarget::start(Reply::Text("m 1\n".into())).await;
        let (wal, mut appends) = RecordingWal::start();
        let metrics = Arc::new(AgentMetrics::new());
        let base = "scrape_configs: [{job_name: j, scrape_interval: 200ms}]";
        let manager = ScrapeManager::new(&config(base), wal, metrics).start();
        let target = http.target("j", Duration::from_millis(200), Duration::from_millis(200));
        let m = format!(
            "m{{instance=\"{}\", job=\"j\"}}",
            target.labels.get("instance").unwrap()
        );
        let added = format!(
            "scrape_series_added{{instance=\"{}\", job=\"j\"}}",
            target.labels.get("instance").unwrap()
        );
        manager
            .send(TargetsUpdated {
                job: "j".into(),
                active: vec![target],
                dropped: vec![],
            })
            .await
            .unwrap();
        next_matching(&mut appends, "a first scrape", |s| {
            value(s, &m) == Some(1.0)
        })
        .await;
        next_matching(&mut appends, "a cached scrape", |s| {
            value(s, &added) == Some(0.0)
        })
        .await;

        // A sample_limit change keeps the cache: no stale markers, no new series.
        manager
            .send(ApplyConfig(config(
                "scrape_configs: [{job_name: j, scrape_interval: 200ms, sample_limit: 100}]",
            )))
            .await
            .unwrap();
        for _ in 0..2 {
            let after = next_matching(&mut appends, "a scrape after a compatible reload", |s| {
                value(s, &m).is_some()
            })
            .await;
            assert_eq!(value(&after, &added), Some(0.0), "the cache was kept");
            assert!(!is_stale(&after, &m), "no restart, so no stale markers");
        }

        // honor_labels changes series labels: the loop restarts (stale markers, fresh cache).
        let honor = "scrape_configs: [{job_name: j, scrape_interval: 200ms, honor_labels: true}]";
        manager.send(ApplyConfig(config(honor))).await.unwrap();
        next_matching(&mut appends, "the old loop's stale markers", |s| {
            is_stale(s, &m)
        })
        .await;
        next_matching(&mut appends, "the new loop's first scrape", |s| {
            value(s, &added) == Some(1.0)
        })
        .await;
    }
}
