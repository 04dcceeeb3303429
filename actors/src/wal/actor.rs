//! The Wal actor: the only writer of the log. A thin shell around [`WalWriter`] that adds the
//! group-commit timer, the replies and the durable-position channel.
//!
//! It runs on its own [`Arbiter`] (thread), so its fsyncs never stall the scrapers' event
//! loop. The first [`Append`] after a commit arms a timer of `commit_interval`; every append
//! arriving until it fires shares one write and one fsync, after which the durable position
//! is published and all their replies are sent. A reply never precedes the fsync.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tokio::sync::{oneshot, watch};

use super::error::WalError;
use super::options::WalOptions;
use super::writer::WalWriter;
use super::{Append, Appended, Progress, Subscribe, Subscription, Unsubscribe, WalPos};
use crate::metrics::AgentMetrics;

/// How often the age budget is checked when nothing else triggers maintenance.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(1);

type Reply = oneshot::Sender<Result<Appended, WalError>>;

/// The Wal actor.
#[derive(Debug)]
pub struct Wal {
    writer: WalWriter,
    durable: watch::Sender<WalPos>,
    /// Appends written since the last commit, waiting for its fsync.
    waiting: Vec<(Reply, Appended)>,
    commit_interval: Duration,
    commit_armed: bool,
}

impl Wal {
    /// Opens and replays the WAL in `opts.dir` (synchronously, so replay errors surface here),
    /// then starts the actor on a new arbiter thread. Must be called inside a running actix
    /// `System`.
    pub fn start(opts: WalOptions, metrics: Arc<AgentMetrics>) -> Result<Addr<Wal>, WalError> {
        let writer = WalWriter::open(&opts, metrics)?;
        let (durable, _) = watch::channel(writer.durable());
        let arbiter = Arbiter::try_new()
            .map_err(|e| WalError::io("starting the WAL thread for", &opts.dir, e))?;
        let commit_interval = opts.commit_interval;
        Ok(Wal::start_in_arbiter(&arbiter.handle(), move |_| Wal {
            writer,
            durable,
            waiting: Vec::new(),
            commit_interval,
            commit_armed: false,
        }))
    }

    fn commit(&mut self) {
        self.commit_armed = false;
        let waiting = std::mem::take(&mut self.waiting);
        match self.writer.commit() {
            Ok(durable) => {
                self.durable.send_replace(durable);
                for (reply, appended) in waiting {
                    let _ = reply.send(Ok(appended));
                }
            }
            Err(e) => {
                let cause = match e {
                    WalError::Failed(cause) => cause,
                    other => Arc::new(other),
                };
                for (reply, _) in waiting {
                    let _ = reply.send(Err(WalError::Failed(cause.clone())));
                }
            }
        }
        self.maintain();
    }

    fn maintain(&mut self) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // Errors are logged by the writer, which also backs off before retrying.
        let _ = self.writer.maintain(now_ms);
    }
}

impl Actor for Wal {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(MAINTENANCE_INTERVAL, |wal, _| wal.maintain());
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if !self.waiting.is_empty() {
            self.commit();
        }
        Arbiter::current().stop();
    }
}

impl Handler<Append> for Wal {
    type Result = ResponseFuture<Result<Appended, WalError>>;

    #[tracing::instrument(skip_all, fields(new_series = msg.new_series.len(), samples = msg.samples.len()))]
    fn handle(&mut self, msg: Append, ctx: &mut Self::Context) -> Self::Result {
        let appended = match self.writer.append(&msg) {
            Ok(appended) => appended,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let (reply, wait) = oneshot::channel();
        self.waiting.push((reply, appended));
        if !self.commit_armed {
            self.commit_armed = true;
            ctx.run_later(self.commit_interval, |wal, _| wal.commit());
        }
        Box::pin(async move { wait.await.unwrap_or(Err(WalError::Stopped)) })
    }
}

impl Handler<Subscribe> for Wal {
    type Result = MessageResult<Subscribe>;

    #[tracing::instrument(skip_all, fields(consumer = %msg.consumer))]
    fn handle(&mut self, msg: Subscribe, _ctx: &mut Self::Context) -> Self::Result {
        self.writer.subscribe(&msg.consumer);
        let first = self.writer.first();
        tracing::info!(first = %first, durable = %self.writer.durable(), "WAL consumer subscribed");
        MessageResult(Subscription {
            durable: self.durable.subscribe(),
            first,
        })
    }
}

impl Handler<Progress> for Wal {
    type Result = ();

    #[tracing::instrument(skip_all, fields(consumer = %msg.consumer, acked = %msg.acked))]
    fn handle(&mut self, msg: Progress, _ctx: &mut Self::Context) {
        if self.writer.progress(&msg.consumer, msg.acked) {
            self.maintain();
        } else {
            tracing::debug!("progress from a consumer that is not subscribed; ignored");
        }
    }
}

impl Handler<Unsubscribe> for Wal {
    type Result = ();

    #[tracing::instrument(skip_all, fields(consumer = %msg.consumer))]
    fn handle(&mut self, msg: Unsubscribe, _ctx: &mut Self::Context) {
        if self.writer.unsubscribe(&msg.consumer) {
            tracing::info!("WAL consumer unsubscribed");
            self.maintain();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::testkit::{new_series, now_ms, samples, segment_ends};
    use crate::wal::{AppendSample, SeriesId};

    fn start(
        dir: &std::path::Path,
        segment_size: u64,
        commit_interval: Duration,
    ) -> (Addr<Wal>, Arc<AgentMetrics>) {
        let metrics = Arc::new(AgentMetrics::new());
        let opts = WalOptions {
            segment_size,
            commit_interval,
            ..WalOptions::new(dir)
        };
        (Wal::start(opts, metrics.clone()).expect("start"), metrics)
    }

    fn subscribe(consumer: &str) -> Subscribe {
        Subscribe {
            consumer: consumer.to_owned(),
        }
    }

    #[actix::test]
    async fn group_commit_acknowledges_many_appends_after_fewer_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, metrics) = start(dir.path(), 1 << 20, Duration::from_millis(50));
        let sub = wal.send(subscribe("q")).await.unwrap();
        let t = now_ms();
        let appends = (0..64).map(|i| {
            let request = wal.send(new_series(&format!("m{i}"), 10, t));
            let durable = sub.durable.clone();
            async move {
                let appended = request.await.unwrap().unwrap();
                assert!(
                    appended.end <= *durable.borrow(),
                    "acknowledged before it was durable"
                );
                appended
            }
        });
        let replies = futures::future::join_all(appends).await;
        let mut refs: Vec<_> = replies.into_iter().flat_map(|r| r.refs).collect();
        refs.sort_unstable();
        assert_eq!(refs, (1..=640).collect::<Vec<_>>());
        let fsyncs = metrics.wal_fsyncs_total.get();
        assert!((1..32).contains(&fsyncs), "64 appends took {fsyncs} fsyncs");
        assert_eq!(metrics.wal_appended_samples_total.get(), 640);

        let bad = wal.send(samples(&[9999], t)).await.unwrap();
        assert!(matches!(
            bad,
            Err(WalError::UnknownSeries { series_ref: 9999 })
        ));
    }

    #[actix::test]
    async fn acknowledged_segments_are_deleted_once_every_consumer_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, metrics) = start(dir.path(), 1024, Duration::ZERO);
        let a = wal.send(subscribe("a")).await.unwrap();
        wal.send(subscribe("b")).await.unwrap();
        assert_eq!(
            a.first,
            WalPos {
                segment: 1,
                offset: 0
            }
        );
        let t = now_ms();
        let refs = wal
            .send(new_series("m", 10, t))
            .await
            .unwrap()
            .unwrap()
            .refs;
        for i in 1..40 {
            wal.send(samples(&refs, t + i)).await.unwrap().unwrap();
        }
        let ends = segment_ends(dir.path());
        assert!(ends.len() > 4);
        let durable = *a.durable.borrow();
        wal.send(Progress {
            consumer: "a".into(),
            acked: durable,
        })
        .await
        .unwrap();
        assert_eq!(segment_ends(dir.path()), ends, "b has not reported yet");

        wal.send(Progress {
            consumer: "b".into(),
            acked: ends[1],
        })
        .await
        .unwrap();
        assert_eq!(segment_ends(dir.path()), ends[2..]);
        assert_eq!(metrics.wal_truncations_total.get(), 2);

        wal.send(Unsubscribe {
            consumer: "b".into(),
        })
        .await
        .unwrap();
        assert_eq!(
            segment_ends(dir.path()).len(),
            1,
            "only the segment being written is left"
        );
        assert_eq!(metrics.wal_dropped_samples_total.get(), 0);
        let late = wal.send(subscribe("c")).await.unwrap();
        assert_eq!(late.first.segment, ends.last().unwrap().segment);
    }

    /// CPU time of this process's threads, in nanoseconds, by thread id, from procfs.
    fn cpu_ns() -> std::collections::BTreeMap<String, (String, u64)> {
        let mut threads = std::collections::BTreeMap::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            let ns: u64 = stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            threads.insert(
                task.file_name().to_string_lossy().into_owned(),
                (name.trim().to_owned(), ns),
            );
        }
        threads
    }

    /// Run with `cargo test -p skyview-actors --lib wal::actor::tests::throughput -- --ignored
    /// --nocapture` (add `--release` for meaningful numbers).
    #[actix::test]
    #[ignore = "throughput measurement, prints numbers"]
    async fn throughput_of_scrape_sized_appends() {
        const SCRAPERS: usize = 10;
        const APPENDS_PER_SCRAPER: usize = 50;
        const SAMPLES: usize = 2000;
        let dir = tempfile::tempdir().unwrap();
        let (wal, metrics) = start(dir.path(), 32 << 20, Duration::from_millis(10));
        let t = now_ms();
        let mut scrapers = Vec::new();
        for s in 0..SCRAPERS {
            let refs = wal
                .send(new_series(&format!("job{s}"), SAMPLES as u64, t))
                .await
                .unwrap()
                .unwrap()
                .refs;
            let appends: Vec<Append> = (1..=APPENDS_PER_SCRAPER)
                .map(|i| Append {
                    new_series: Vec::new(),
                    samples: refs
                        .iter()
                        .map(|&r| AppendSample {
                            series: SeriesId::Ref(r),
                            t: t + i as i64 * 15_000,
                            v: (r * i as u64) as f64,
                        })
                        .collect(),
                })
                .collect();
            scrapers.push(appends);
        }
        let before = cpu_ns();
        let started = std::time::Instant::now();
        let runs = scrapers.into_iter().map(|appends| {
            let wal = wal.clone();
            async move {
                for append in appends {
                    wal.send(append).await.unwrap().unwrap();
                }
            }
        });
        futures::future::join_all(runs).await;
        let elapsed = started.elapsed().as_secs_f64();
        let n = (SCRAPERS * APPENDS_PER_SCRAPER * SAMPLES) as f64;
        let mut per_sample_ns = 0.0;
        let mut wal_per_sample_ns = 0.0;
        for (tid, (name, ns)) in cpu_ns() {
            let spent = (ns - before.get(&tid).map_or(0, |b| b.1)) as f64 / n;
            per_sample_ns += spent;
            // The system runs on the test's thread, so the only actix-named thread is the WAL's
            // arbiter (`actix-rt|system:N|arbiter:M`, truncated by the kernel).
            if name.starts_with("actix-rt") {
                wal_per_sample_ns += spent;
            }
        }
        println!(
            "{n} samples in {elapsed:.3}s: {:.0} samples/s, {} fsyncs, process CPU {per_sample_ns:.0} ns/sample, \
             WAL thread CPU {wal_per_sample_ns:.0} ns/sample = {:.2} ms CPU per second at 20k samples/s",
            n / elapsed,
            metrics.wal_fsyncs_total.get(),
            wal_per_sample_ns * 20_000.0 / 1e6,
        );
    }
}
