//! The Scraper actor: one per target. It owns the target's [`ScrapeLoop`] and does the IO
//! around it: a timer on the target's [`Schedule`], the HTTP fetch, the WAL append, and
//! metrics, logs and health.
//!
//! A scrape never overlaps the previous one: the next tick is only scheduled once the WAL has
//! answered the previous append (durably written, or failed), which is also when the cache
//! learns the new series' references. A stop request ([`StopScraper`]) writes stale markers
//! for every series of the last successful scrape and the report series, then stops the
//! actor; a scrape in flight is cancelled, an append in flight is awaited first. An actor
//! stopped any other way (agent shutdown) writes no markers, as Prometheus does not: the
//! series continue when the agent comes back.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;

use super::client::{Fetched, ScrapeClient};
use super::error::ScrapeError;
use super::metadata::SharedMetadata;
use super::offset::{target_hash, Schedule};
use super::report::ScrapeReport;
use super::scrape_loop::{Body, ScrapeLoop};
use super::settings::ScrapeSettings;
use super::status::{SharedHealth, TargetHealth};
use crate::discovery::Target;
use crate::exposition::Format;
use crate::metrics::{AgentMetrics, JobLabels, ScrapeFailureLabels};
use crate::wal::{Append, Appended, WalError};

/// Stops a Scraper after writing its staleness markers.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopScraper;

/// New attributes for the same target (same labels and URL) and settings that keep its cache
/// valid (see [`ScrapeSettings::cache_compatible`]).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct UpdateScraper {
    pub target: Target,
    pub settings: Arc<ScrapeSettings>,
    pub client: Result<ScrapeClient, ScrapeError>,
}

/// What the actor is doing.
#[derive(Debug)]
enum Phase {
    /// Waiting for the next tick.
    Waiting(SpawnHandle),
    /// An HTTP fetch is in flight.
    Fetching(SpawnHandle),
    /// An append is in flight; the next tick is scheduled when it is answered.
    Appending,
    /// Writing the final stale markers.
    Stopping,
}

/// Scrapes one target.
#[derive(Debug)]
pub struct Scraper {
    target: Target,
    schedule: Schedule,
    client: Result<ScrapeClient, ScrapeError>,
    state: ScrapeLoop,
    wal: Recipient<Append>,
    metrics: Arc<AgentMetrics>,
    health: SharedHealth,
    metadata: SharedMetadata,
    phase: Option<Phase>,
    stop_requested: bool,
    /// Capacity to give the next scrape's body buffer: a little more than the last body, so
    /// a body of about the same size is read without reallocating. The buffer itself is freed
    /// as soon as the body is parsed: scrapes of different targets are staggered, so only the
    /// few in flight hold one, rather than every target holding its largest body forever.
    body_hint: usize,
    last_tick_ns: u64,
}

impl Scraper {
    pub fn new(
        target: Target,
        settings: Arc<ScrapeSettings>,
        client: Result<ScrapeClient, ScrapeError>,
        wal: Recipient<Append>,
        metrics: Arc<AgentMetrics>,
        health: SharedHealth,
        metadata: SharedMetadata,
    ) -> Self {
        Self {
            schedule: Schedule::new(target_hash(&target), target.interval),
            state: ScrapeLoop::new(target.labels.clone(), settings),
            target,
            client,
            wal,
            metrics,
            health,
            metadata,
            phase: None,
            stop_requested: false,
            body_hint: 0,
            last_tick_ns: 0,
        }
    }

    fn schedule_next(&mut self, ctx: &mut Context<Self>) {
        let now = unix_nanos(SystemTime::now());
        let next = self.schedule.next_tick(now.max(self.last_tick_ns));
        let handle = ctx.run_later(Duration::from_nanos(next - now), move |act, ctx| {
            act.last_tick_ns = next;
            act.scrape(ctx);
        });
        self.phase = Some(Phase::Waiting(handle));
    }

    fn scrape(&mut self, ctx: &mut Context<Self>) {
        let now = SystemTime::now();
        let started = Instant::now();
        let t_ms = (unix_nanos(now) / 1_000_000) as i64;
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(e) => {
                let error = e.clone();
                self.on_fetched(Vec::new(), Err(error), now, t_ms, started, ctx);
                return;
            }
        };
        let fetch = client.fetch(
            self.target.url.clone(),
            self.target.timeout,
            self.state.settings().body_size_limit,
            Vec::with_capacity(self.body_hint),
        );
        let handle = ctx.spawn(fetch.into_actor(self).map(move |(buf, result), act, ctx| {
            act.on_fetched(buf, result, now, t_ms, started, ctx)
        }));
        self.phase = Some(Phase::Fetching(handle));
    }

    fn on_fetched(
        &mut self,
        buf: Vec<u8>,
        result: Result<Fetched, ScrapeError>,
        now: SystemTime,
        t_ms: i64,
        started: Instant,
        ctx: &mut Context<Self>,
    ) {
        let body = result.map(|f| Body {
            bytes: &buf,
            format: Format::from_content_type(f.content_type.as_deref()),
        });
        let (append, report) = self.state.on_scrape(body, t_ms, started);
        if let Some(update) = self.state.take_metadata_update() {
            *self.metadata.lock().unwrap_or_else(|p| p.into_inner()) = update;
        }
        if report.error.is_none() {
            self.body_hint = buf.len() + buf.len() / 8;
        }
        drop(buf);
        self.record(&report, now);
        let appended_samples = if report.error.is_none() {
            report.post_relabel
        } else {
            0
        };
        self.phase = Some(Phase::Appending);
        ctx.spawn(
            self.wal
                .send(append)
                .into_actor(self)
                .map(move |reply, act, ctx| {
                    act.on_appended(reply, appended_samples);
                    if act.stop_requested {
                        act.stop_now(ctx);
                    } else {
                        act.schedule_next(ctx);
                    }
                }),
        );
    }

    fn record(&mut self, report: &ScrapeReport, now: SystemTime) {
        let job = JobLabels {
            job: self.target.job.clone(),
        };
        self.metrics.scrapes_total.get_or_create(&job).inc();
        self.metrics
            .scrape_duration_seconds
            .get_or_create(&job)
            .observe(report.duration.as_secs_f64());
        if let Some(e) = &report.error {
            tracing::warn!(job = %self.target.job, target = %self.target.url, reason = e.reason(), error = %e, "scrape failed");
            self.count_failure(e.reason());
        }
        let mut health = self
            .health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *health = TargetHealth {
            last_scrape: Some(now),
            last_duration: report.duration,
            last_error: report.error.as_ref().map(ToString::to_string),
        };
    }

    fn count_failure(&self, reason: &str) {
        let labels = ScrapeFailureLabels {
            job: self.target.job.clone(),
            reason: reason.to_owned(),
        };
        self.metrics
            .scrape_failures_total
            .get_or_create(&labels)
            .inc();
    }

    fn on_appended(
        &mut self,
        reply: Result<Result<Appended, WalError>, MailboxError>,
        samples: u64,
    ) {
        match reply {
            Ok(Ok(appended)) => {
                self.state.commit(&appended);
                let job = JobLabels {
                    job: self.target.job.clone(),
                };
                self.metrics
                    .scraped_samples_total
                    .get_or_create(&job)
                    .inc_by(samples);
            }
            Ok(Err(e @ WalError::UnknownSeries { .. })) => {
                tracing::warn!(job = %self.target.job, target = %self.target.url, error = %e, "WAL forgot series references; resending all series");
                self.state.forget_refs();
                self.count_failure("wal");
            }
            Ok(Err(e)) => {
                tracing::error!(job = %self.target.job, target = %self.target.url, error = %e, "WAL append of scrape failed");
                self.state.abort();
                self.count_failure("wal");
            }
            Err(e) => {
                tracing::error!(job = %self.target.job, target = %self.target.url, error = %e, "WAL unreachable");
                self.state.abort();
                self.count_failure("wal");
            }
        }
    }

    /// Writes the final stale markers, then stops the actor once they are durable.
    fn stop_now(&mut self, ctx: &mut Context<Self>) {
        self.phase = Some(Phase::Stopping);
        let t_ms = (unix_nanos(SystemTime::now()) / 1_000_000) as i64;
        let append = self.state.on_stop(t_ms);
        if append.samples.is_empty() {
            ctx.stop();
            return;
        }
        ctx.spawn(
            self.wal
                .send(append)
                .into_actor(self)
                .map(|reply, act, ctx| {
                    act.on_appended(reply, 0);
                    ctx.stop();
                }),
        );
    }
}

impl Actor for Scraper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!(job = %self.target.job, target = %self.target.url, phase = ?self.schedule.phase(), "scraper started");
        self.schedule_next(ctx);
    }
}

impl Handler<StopScraper> for Scraper {
    type Result = ();

    #[tracing::instrument(skip_all, fields(job = %self.target.job, target = %self.target.url))]
    fn handle(&mut self, _: StopScraper, ctx: &mut Context<Self>) {
        match self.phase.take() {
            Some(Phase::Waiting(handle) | Phase::Fetching(handle)) => {
                ctx.cancel_future(handle);
                self.stop_now(ctx);
            }
            None => self.stop_now(ctx),
            Some(phase @ (Phase::Appending | Phase::Stopping)) => {
                self.stop_requested = true;
                self.phase = Some(phase);
            }
        }
    }
}

impl Handler<UpdateScraper> for Scraper {
    type Result = ();

    #[tracing::instrument(skip_all, fields(job = %self.target.job, target = %self.target.url))]
    fn handle(&mut self, msg: UpdateScraper, ctx: &mut Context<Self>) {
        self.schedule = Schedule::new(target_hash(&msg.target), msg.target.interval);
        self.target = msg.target;
        self.client = msg.client;
        self.state.set_settings(msg.settings);
        match self.phase.take() {
            Some(Phase::Waiting(handle)) => {
                ctx.cancel_future(handle);
                self.schedule_next(ctx);
            }
            other => self.phase = other,
        }
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GlobalConfig, ScrapeConfig};
    use crate::scrape::client::{ACCEPT_HEADER, TIMEOUT_HEADER, USER_AGENT};
    use crate::scrape::test_support::{
        is_stale, next_matching, value, RecordingWal, Reply, TestTarget,
    };

    fn settings(yaml: &str) -> Arc<ScrapeSettings> {
        let sc: ScrapeConfig = serde_yaml_ng::from_str(yaml).unwrap();
        ScrapeSettings::from_config(&sc, &GlobalConfig::default())
    }

    fn series(name: &str, extra: &[(&str, &str)], target: &Target) -> String {
        let mut labels = target.labels.to_builder();
        labels.set("__name__", name);
        for (k, v) in extra {
            labels.set(*k, *v);
        }
        labels.build().to_string()
    }

    #[actix_rt::test]
    async fn scrapes_marks_stale_and_fails_on_bad_bodies_and_hangs() {
        let http = TestTarget::start(Reply::Text("a 1\nb{x=\"1\"} 2\n".into())).await;
        let target = http.target("j", Duration::from_millis(200), Duration::from_millis(150));
        let (wal, mut appends) = RecordingWal::start();
        let metrics = Arc::new(AgentMetrics::new());
        let health = SharedHealth::default();
        let settings = settings("{job_name: j}");
        let client = ScrapeClient::new(&settings);
        let scraper = Scraper::new(
            target.clone(),
            settings,
            client,
            wal,
            Arc::clone(&metrics),
            Arc::clone(&health),
            SharedMetadata::default(),
        )
        .start();
        let (up, a, b) = (
            series("up", &[], &target),
            series("a", &[], &target),
            series("b", &[("x", "1")], &target),
        );

        let first = next_matching(&mut appends, "the first scrape", |_| true).await;
        assert_eq!(value(&first, &up), Some(1.0));
        assert_eq!(
            (value(&first, &a), value(&first, &b)),
            (Some(1.0), Some(2.0))
        );
        assert_eq!(
            value(&first, &series("scrape_samples_scraped", &[], &target)),
            Some(2.0)
        );
        assert_eq!(
            value(&first, &series("scrape_series_added", &[], &target)),
            Some(2.0)
        );
        assert!(value(&first, &series("scrape_duration_seconds", &[], &target)).is_some());
        let headers = http.last_headers.lock().unwrap().clone();
        assert_eq!(headers["accept"], ACCEPT_HEADER);
        assert_eq!(headers["user-agent"], USER_AGENT);
        assert_eq!(headers[TIMEOUT_HEADER], "0.15");
        assert_eq!(headers["accept-encoding"], "gzip");
        assert_eq!(health.lock().unwrap().last_error, None);

        http.set(Reply::Text("a 1\n".into()));
        let gone = next_matching(&mut appends, "b's stale marker", |s| is_stale(s, &b)).await;
        assert_eq!(value(&gone, &a), Some(1.0));

        http.set(Reply::Text("a 1\nb{ 2\n".into()));
        let bad = next_matching(&mut appends, "up=0 on a malformed body", |s| {
            value(s, &up) == Some(0.0)
        })
        .await;
        assert!(
            is_stale(&bad, &a),
            "series of the last good scrape go stale: {bad:?}"
        );
        assert_eq!(value(&bad, &a), None);
        assert!(health
            .lock()
            .unwrap()
            .last_error
            .as_deref()
            .unwrap()
            .contains("line 2"));

        http.set(Reply::OpenMetricsGzip(
            "# TYPE a gauge\na 3\n# EOF\n".into(),
        ));
        next_matching(&mut appends, "recovery over gzip OpenMetrics", |s| {
            value(s, &a) == Some(3.0)
        })
        .await;

        http.set(Reply::Hang);
        let hung = next_matching(&mut appends, "up=0 on a hanging target", |s| {
            value(s, &up) == Some(0.0)
        })
        .await;
        assert!(is_stale(&hung, &a));
        assert!(health
            .lock()
            .unwrap()
            .last_error
            .as_deref()
            .unwrap()
            .contains("timed out"));

        http.set(Reply::Status(503));
        next_matching(&mut appends, "up=0 on HTTP 503", |s| {
            value(s, &up) == Some(0.0)
        })
        .await;

        http.set(Reply::Text("a 1\n".into()));
        next_matching(&mut appends, "recovery", |s| value(s, &up) == Some(1.0)).await;
        scraper.send(StopScraper).await.unwrap();
        let last = next_matching(&mut appends, "stop markers", |s| is_stale(s, &up)).await;
        assert!(is_stale(&last, &a));
        assert_eq!(last.len(), 1 + crate::scrape::REPORT_SERIES.len());

        let text = metrics.encode();
        for reason in ["parse", "timeout", "http"] {
            assert!(
                text.contains(&format!(
                    "skyview_agent_scrape_failures_total{{job=\"j\",reason=\"{reason}\"}} "
                )),
                "{reason}: {text}"
            );
        }
        assert!(text.contains("skyview_agent_scraped_samples_total{job=\"j\"}"));
    }

    #[actix_rt::test]
    async fn body_size_limit_fails_the_scrape() {
        let http = TestTarget::start(Reply::Text("a 1\n".repeat(100))).await;
        let settings = settings("{job_name: j, body_size_limit: 400}");
        let client = ScrapeClient::new(&settings).unwrap();
        let (_, result) = client
            .clone()
            .fetch(http.url.clone(), Duration::from_secs(5), 400, Vec::new())
            .await;
        assert!(
            matches!(result, Err(ScrapeError::BodyTooLarge { limit: 400 })),
            "{result:?}"
        );
        let (buf, result) = client
            .fetch(http.url.clone(), Duration::from_secs(5), 401, Vec::new())
            .await;
        assert!(result.is_ok());
        assert_eq!(buf.len(), 400);
    }
}
