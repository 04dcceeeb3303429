//! The `Discovery` actor: runs static and file discovery for every job of a [`Config`] and
//! tells its recipient whenever a job's targets change.
//!
//! It announces every job once at start (even with no targets, so the receiver learns the job
//! exists), then again only when that job's active or dropped targets change. File discovery
//! re-reads on change notifications from the files' directories (coalesced over a short window,
//! since one editor save produces several events) and every `refresh_interval` regardless, in
//! case notifications are missed. Files are small and read on the actor's thread.
//!
//! One instance serves one configuration. On reload the agent stops it (`StopDiscovery`) and
//! starts a new one; the new one re-announces every job, and the receiver diffs.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, Recipient};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use super::file_sd::FileSd;
use super::group::TargetGroup;
use super::job_targets::{Announced, JobTargets};
use super::target::Target;
use crate::config::Config;
use crate::labels::Labels;

/// How long change notifications are gathered before files are re-read.
const COALESCE: Duration = Duration::from_millis(100);

/// A job's complete target list, sent whenever it changes.
#[derive(Clone, Debug, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct TargetsUpdated {
    pub job: String,
    /// Targets to scrape, in discovery order, without duplicates.
    pub active: Vec<Target>,
    /// Discovered labels of the targets `relabel_configs` dropped, for `/api/v1/targets`.
    pub dropped: Vec<Labels>,
}

/// Stops the actor (and its file watcher and timers).
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "()")]
pub struct StopDiscovery;

/// A watched directory changed.
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "()")]
struct FilesChanged;

/// Discovery state of one job.
#[derive(Debug)]
struct Job {
    static_groups: Vec<TargetGroup>,
    file_sd: Vec<FileSd>,
    announced: Announced,
}

/// The discovery actor.
pub struct Discovery {
    config: Arc<Config>,
    recipient: Recipient<TargetsUpdated>,
    jobs: Vec<Job>,
    watcher: Option<notify::RecommendedWatcher>,
    refresh_scheduled: bool,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

impl Discovery {
    pub fn new(config: Arc<Config>, recipient: Recipient<TargetsUpdated>) -> Self {
        let jobs = config
            .scrape_configs
            .iter()
            .map(|job| Job {
                static_groups: job
                    .static_configs
                    .iter()
                    .enumerate()
                    .map(|(i, s)| TargetGroup::from_static(i, s))
                    .collect(),
                file_sd: job.file_sd_configs.iter().map(FileSd::new).collect(),
                announced: Announced::default(),
            })
            .collect();
        Self {
            config,
            recipient,
            jobs,
            watcher: None,
            refresh_scheduled: false,
        }
    }

    /// Recomputes job `index`'s targets and sends them if they changed.
    fn announce(&mut self, index: usize) {
        let (Some(config), Some(job)) = (
            self.config.scrape_configs.get(index),
            self.jobs.get_mut(index),
        ) else {
            return;
        };
        let groups = job
            .static_groups
            .iter()
            .chain(job.file_sd.iter().flat_map(FileSd::groups));
        let targets = JobTargets::compute(config, &self.config.global, groups);
        for (labels, error) in &targets.failures {
            tracing::warn!(job = %config.job_name, target = %labels, %error, "creating target failed");
        }
        if job.announced.should_announce(&targets) {
            tracing::debug!(
                job = %config.job_name,
                active = targets.active.len(),
                dropped = targets.dropped.len(),
                "targets updated"
            );
            self.recipient.do_send(TargetsUpdated {
                job: config.job_name.clone(),
                active: targets.active,
                dropped: targets.dropped,
            });
        }
    }

    /// Re-reads the files of job `index` (only `file_sd_configs[sd]` when given) and announces
    /// the job if they changed. Returns nothing: problems are logged, previous targets kept.
    fn refresh_files(&mut self, index: usize, sd: Option<usize>) {
        let Some(job) = self.jobs.get_mut(index) else {
            return;
        };
        let job_name = &self.config.scrape_configs[index].job_name;
        let mut changed = false;
        for (k, provider) in job.file_sd.iter_mut().enumerate() {
            if sd.is_some_and(|only| only != k) {
                continue;
            }
            let (provider_changed, errors) = provider.refresh();
            for error in errors {
                tracing::error!(job = %job_name, file_sd = k, %error, "file discovery: keeping previous targets");
            }
            changed |= provider_changed;
        }
        if changed {
            self.announce(index);
        }
    }

    /// Watches the directories of every file pattern; failures are logged and the periodic
    /// refresh still runs.
    fn start_watcher(&mut self, ctx: &mut Context<Self>) {
        let mut dirs: Vec<_> = self
            .jobs
            .iter()
            .flat_map(|j| j.file_sd.iter().flat_map(FileSd::watch_dirs))
            .collect();
        dirs.sort();
        dirs.dedup();
        if dirs.is_empty() {
            return;
        }
        let addr = ctx.address().downgrade();
        let handler = move |event: notify::Result<notify::Event>| match event {
            // Our own reads produce access events; only changes matter.
            Ok(e) if matches!(e.kind, EventKind::Access(k) if k != AccessKind::Close(AccessMode::Write)) =>
                {}
            Ok(_) => {
                if let Some(addr) = addr.upgrade() {
                    addr.do_send(FilesChanged);
                }
            }
            Err(error) => tracing::warn!(%error, "file discovery watcher error"),
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(error) => {
                tracing::error!(%error, "file discovery: cannot create a file watcher; relying on refresh_interval");
                return;
            }
        };
        for dir in dirs {
            if let Err(error) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
                tracing::error!(dir = %dir.display(), %error, "file discovery: cannot watch directory; relying on refresh_interval");
            }
        }
        self.watcher = Some(watcher);
    }
}

impl Actor for Discovery {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for index in 0..self.jobs.len() {
            for provider in &mut self.jobs[index].file_sd {
                for error in provider.refresh().1 {
                    tracing::error!(job = %self.config.scrape_configs[index].job_name, %error, "file discovery");
                }
            }
            self.announce(index);
        }
        self.start_watcher(ctx);
        for (index, job) in self.config.scrape_configs.iter().enumerate() {
            for (sd, file_sd) in job.file_sd_configs.iter().enumerate() {
                let every = file_sd
                    .refresh_interval
                    .as_duration()
                    .max(Duration::from_secs(1));
                ctx.run_interval(every, move |act, _| act.refresh_files(index, Some(sd)));
            }
        }
    }
}

impl Handler<FilesChanged> for Discovery {
    type Result = ();

    fn handle(&mut self, _: FilesChanged, ctx: &mut Context<Self>) {
        if self.refresh_scheduled {
            return;
        }
        self.refresh_scheduled = true;
        ctx.run_later(COALESCE, |act, _| {
            act.refresh_scheduled = false;
            for index in 0..act.jobs.len() {
                act.refresh_files(index, None);
            }
        });
    }
}

impl Handler<StopDiscovery> for Discovery {
    type Result = ();

    fn handle(&mut self, _: StopDiscovery, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tokio::sync::mpsc;

    use super::*;

    /// Forwards every update to a channel the test awaits.
    struct Collect(mpsc::UnboundedSender<TargetsUpdated>);

    impl Actor for Collect {
        type Context = Context<Self>;
    }

    impl Handler<TargetsUpdated> for Collect {
        type Result = ();
        fn handle(&mut self, msg: TargetsUpdated, _: &mut Context<Self>) {
            let _ = self.0.send(msg);
        }
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<TargetsUpdated>) -> TargetsUpdated {
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an update within 20s")
            .expect("discovery alive")
    }

    #[actix_rt::test]
    async fn announces_every_job_then_follows_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), r#"[{"targets": ["a:1"]}]"#).unwrap();
        let text = format!(
            "scrape_configs:\n  - job_name: static\n    static_configs: [{{targets: ['s:1']}}]\n  - job_name: empty\n  - job_name: files\n    file_sd_configs: [{{files: ['{}/*.json']}}]\n",
            dir.path().display()
        );
        let config = Config::from_yaml(&text, Path::new("p.yml")).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let collect = Collect(tx).start();
        let discovery = Discovery::new(Arc::new(config), collect.recipient()).start();

        let mut first = [
            next(&mut rx).await,
            next(&mut rx).await,
            next(&mut rx).await,
        ];
        first.sort_by(|a, b| a.job.cmp(&b.job));
        assert_eq!(first[0].job, "empty");
        assert!(first[0].active.is_empty());
        assert_eq!(first[1].job, "files");
        assert_eq!(first[1].active[0].url, "http://a:1/metrics");
        assert_eq!(
            first[1].active[0]
                .discovered_labels
                .get("__meta_filepath")
                .map(Path::new),
            Some(dir.path().join("a.json").as_path())
        );
        assert_eq!(first[2].job, "static");

        std::fs::write(dir.path().join("b.json"), r#"[{"targets": ["b:1"]}]"#).unwrap();
        let update = next(&mut rx).await;
        assert_eq!(update.job, "files");
        let urls: Vec<_> = update.active.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(urls, ["http://a:1/metrics", "http://b:1/metrics"]);

        discovery.do_send(StopDiscovery);
    }
}
