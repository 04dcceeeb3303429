//! The `Shipper` actor: wires one `remote_write` endpoint's reader thread, queue tasks and
//! cursor keeper together, and owns nothing else.
//!
//! On start it subscribes to the WAL (consumer `remote/<endpoint-key>`), loads the cursors
//! file, moves each cursor past what a Skyview receiver reports as committed (`resume.rs`,
//! bounded by a short timeout), and starts reading from the lowest cursor. Stopping it (config
//! reload, shutdown) drops its tasks: whatever was not acknowledged is simply read again by the
//! next Shipper from the persisted cursors, so a stop loses nothing. It does *not* unsubscribe from the WAL on stop,
//! since a reload starts a new Shipper for the same endpoint that must find its data still
//! there; the agent unsubscribes [`consumer_name`] when an endpoint leaves the config.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::{mpsc, watch, Semaphore};

use super::batch::BatchBuilder;
use super::client::RemoteClient;
use super::cursor::{resume_from, CursorStore, QueueCursor};
use super::encode::RequestEncoder;
use super::endpoint_metrics::EndpointMetrics;
use super::error::ShipperError;
use super::keeper::CursorKeeper;
use super::queue::QueueTask;
use super::queues::queue_count;
use super::reader::{QueueInlet, ReaderExit, ReaderTask};
use super::resume::resume_from_receiver;
use super::retry::RetryPolicy;
use super::series::SeriesTable;
use crate::config::RemoteWriteConfig;
use crate::metrics::AgentMetrics;
use crate::wal::{Progress, Subscribe, Subscription, Wal, WalPos};

/// A stable key for an endpoint: 16 hex digits of the xxh3 of its `name`, or of its `url` when
/// it has none. It names the state directory and the WAL consumer, so it must not depend on
/// settings a user may tune (headers, queue config) or the endpoint would lose its cursors.
pub fn endpoint_key(cfg: &RemoteWriteConfig) -> String {
    let basis = cfg.name.as_deref().unwrap_or(&cfg.url);
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(basis.as_bytes()))
}

/// The WAL consumer name of an endpoint.
pub fn consumer_name(cfg: &RemoteWriteConfig) -> String {
    format!("remote/{}", endpoint_key(cfg))
}

/// Ships the WAL to one `remote_write` endpoint.
#[derive(Debug)]
pub struct Shipper {
    cfg: RemoteWriteConfig,
    external_labels: BTreeMap<String, String>,
    agent_id: String,
    wal: Addr<Wal>,
    wal_dir: PathBuf,
    /// Where the endpoint's cursors file lives (see `cursor.rs`).
    cursor_dir: PathBuf,
    client: RemoteClient,
    metrics: Arc<EndpointMetrics>,
    /// Dropping it stops the reader thread.
    stop: Option<watch::Sender<bool>>,
}

impl Shipper {
    /// Prepares a shipper; nothing runs until it is started. Fails on an unusable config
    /// (bad URL, unreadable credentials or TLS files) or agent id.
    pub fn new(
        cfg: RemoteWriteConfig,
        external_labels: BTreeMap<String, String>,
        agent_id: String,
        wal: Addr<Wal>,
        wal_dir: PathBuf,
        state_dir: PathBuf,
        metrics: Arc<AgentMetrics>,
    ) -> Result<Self, ShipperError> {
        skyview_api::remote_write::batch_id::validate_agent_id(&agent_id)?;
        let client = RemoteClient::new(&cfg)?;
        let key = endpoint_key(&cfg);
        let cursor_dir = state_dir.join("remote").join(&key);
        let remote_name = cfg.name.clone().unwrap_or(key);
        let metrics = Arc::new(EndpointMetrics::new(&metrics, &remote_name, &cfg.url));
        Ok(Self {
            cfg,
            external_labels,
            agent_id,
            wal,
            wal_dir,
            cursor_dir,
            client,
            metrics,
            stop: None,
        })
    }

    /// The persisted cursors, or the start of the WAL for every queue when there are none
    /// (or they are unusable).
    fn load_cursors(&self, queues: u32, first: WalPos) -> (CursorStore, Vec<QueueCursor>) {
        let mut store = CursorStore::new(self.cursor_dir.clone());
        let fresh = || {
            vec![
                QueueCursor {
                    acked: first,
                    in_flight: None
                };
                queues as usize
            ]
        };
        let cursors = match store.load(queues) {
            Ok(Some(cursors)) => cursors,
            Ok(None) => fresh(),
            Err(error) => {
                tracing::error!(
                    %error,
                    "shipper cursors unusable; resending everything the WAL holds"
                );
                fresh()
            }
        };
        (store, cursors)
    }

    /// Once the WAL has accepted the subscription: loads the cursors, asks the receiver how far
    /// it has committed each queue, then launches. A stop meanwhile drops the query.
    fn prepare(&mut self, sub: Subscription, ctx: &mut Context<Self>) {
        let queues = queue_count(&self.cfg.queue_config);
        let (store, mut cursors) = self.load_cursors(queues, sub.first);
        let durable = *sub.durable.borrow();
        let client = self.client.clone();
        let agent_id = self.agent_id.clone();
        let metrics = self.metrics.clone();
        let resume = async move {
            let advanced =
                resume_from_receiver(&client, &agent_id, &mut cursors, durable, &metrics).await;
            (cursors, advanced)
        };
        ctx.spawn(actix::fut::wrap_future(resume).map(
            move |(cursors, advanced), act: &mut Self, ctx: &mut Context<Self>| {
                act.launch(sub, store, cursors, &advanced, ctx);
            },
        ));
    }

    /// Starts the reader, the queues and the keeper from `cursors`; the queues in `advanced`
    /// moved past their persisted cursor and are handed to the keeper to persist.
    fn launch(
        &mut self,
        sub: Subscription,
        store: CursorStore,
        cursors: Vec<QueueCursor>,
        advanced: &[u32],
        ctx: &mut Context<Self>,
    ) {
        let queues = cursors.len() as u32;
        let q = &self.cfg.queue_config;
        let from = resume_from(&cursors).unwrap_or(sub.first);
        tracing::info!(url = %self.cfg.url, queues, %from, "shipper starting");
        self.metrics.queues.set(i64::from(queues));

        let wal = self.wal.clone();
        let consumer = consumer_name(&self.cfg);
        let report = Box::new(move |acked: WalPos| {
            wal.do_send(Progress {
                consumer: consumer.clone(),
                acked,
            });
        });
        let (keeper, keeper_handle) =
            CursorKeeper::new(store, cursors.clone(), report, self.metrics.clone());
        for &queue in advanced {
            // Like an acknowledgement: written lazily, then reported to the WAL.
            keeper_handle.note(queue, cursors[queue as usize]);
        }
        ctx.spawn(actix::fut::wrap_future(keeper.run()));

        let (frontier_tx, frontier_rx) = watch::channel(from);
        let capacity = q.capacity.clamp(1, u32::MAX as usize) as u32;
        let policy = RetryPolicy::from_config(q);
        let mut inlets = Vec::with_capacity(queues as usize);
        for (index, cursor) in cursors.iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel();
            let permits = Arc::new(Semaphore::new(capacity as usize));
            inlets.push(QueueInlet {
                tx,
                permits: permits.clone(),
                capacity,
                skip_below: cursor.acked,
            });
            let task = QueueTask {
                index: index as u32,
                agent_id: self.agent_id.clone(),
                builder: BatchBuilder::new(
                    q.max_samples_per_send,
                    q.batch_send_deadline.as_duration(),
                    cursor.acked,
                    cursor.in_flight,
                ),
                rx,
                frontier: frontier_rx.clone(),
                permits,
                client: self.client.clone(),
                policy,
                keeper: keeper_handle.clone(),
                metrics: self.metrics.clone(),
                encoder: RequestEncoder::default(),
                noted: *cursor,
            };
            ctx.spawn(actix::fut::wrap_future(task.run()));
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        self.stop = Some(stop_tx);
        let reader = ReaderTask {
            wal_dir: self.wal_dir.clone(),
            from,
            table: SeriesTable::new(
                queues,
                self.cfg.write_relabel_configs.clone(),
                &self.external_labels,
            ),
            queues: inlets,
            durable: sub.durable,
            frontier: frontier_tx,
            stop: stop_rx,
            metrics: self.metrics.clone(),
        };
        let url = self.cfg.url.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("shipper-{}", endpoint_key(&self.cfg)))
            .spawn(move || match reader.run() {
                Ok(()) | Err(ReaderExit::Stopped) => {}
                Err(error) => tracing::error!(%url, %error, "shipper reader stopped"),
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the shipper reader thread");
            ctx.stop();
        }
    }
}

/// Stops a shipper. Whatever it has not delivered stays in the WAL for the next one.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopShipper;

impl Handler<StopShipper> for Shipper {
    type Result = ();

    fn handle(&mut self, _: StopShipper, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Actor for Shipper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let consumer = consumer_name(&self.cfg);
        let subscribe = self.wal.send(Subscribe { consumer });
        ctx.wait(actix::fut::wrap_future(subscribe).map(
            |result, act: &mut Self, ctx: &mut Context<Self>| match result {
                Ok(sub) => act.prepare(sub, ctx),
                Err(error) => {
                    tracing::error!(url = %act.cfg.url, %error, "WAL unreachable");
                    ctx.stop();
                }
            },
        ));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        self.metrics.pending_samples.set(0);
        self.metrics.queues.set(0);
        tracing::info!(url = %self.cfg.url, "shipper stopped");
    }
}

#[cfg(test)]
mod tests {
    //! The shipper against the real Wal actor and a real HTTP receiver served by the test.

    use std::collections::{BTreeMap, HashSet, VecDeque};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use skyview_api::remote_write::{decode_write_request, headers, BatchId};
    use tokio::sync::Notify;

    use super::*;
    use crate::config::{PromDuration, QueueConfig};
    use crate::labels::Labels;
    use crate::shipper::drop_cause::DropCause;
    use crate::wal::{Append, AppendSample, SeriesId, WalOptions};

    /// What the receiver answers next; 200 once the script is exhausted.
    #[derive(Debug, Clone, Copy)]
    enum Reply {
        Status(u16),
        RetryAfter(u16, u64),
    }

    #[derive(Debug, Clone)]
    struct Seen {
        id: BatchId,
        status: u16,
        /// Whether the receiver kept the samples (it may keep them and still fail the answer).
        stored: bool,
        at: Instant,
        samples: Vec<(String, i64, f64)>,
    }

    #[derive(Debug, Default)]
    struct Log {
        script: VecDeque<Reply>,
        fail_all: bool,
        /// Store batches as a Skyview receiver would (deduplicated by the committed mark),
        /// but answer 500, as when the answer is lost on the way back.
        commit_but_fail: bool,
        /// Per queue, the largest `last` stored: what `/committed` answers.
        committed: BTreeMap<u32, u64>,
        seen: Vec<Seen>,
    }

    impl Log {
        fn accepted(&self) -> Vec<(String, i64, f64)> {
            self.seen
                .iter()
                .filter(|s| s.stored)
                .flat_map(|s| s.samples.clone())
                .collect()
        }
    }

    #[derive(Debug, Clone, Default)]
    struct Receiver {
        log: Arc<Mutex<Log>>,
        changed: Arc<Notify>,
        /// Serve `GET .../committed` as a Skyview receiver does; otherwise it is a 404.
        serves_committed: bool,
    }

    impl Receiver {
        fn skyview() -> Self {
            Self {
                serves_committed: true,
                ..Self::default()
            }
        }

        async fn serve(&self) -> String {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut app = axum::Router::new().route("/api/v1/write", axum::routing::post(receive));
            if self.serves_committed {
                app = app.route(
                    "/api/v1/agents/{agent}/queues/{queue}/committed",
                    axum::routing::get(committed),
                );
            }
            let app = app.with_state(self.clone());
            actix_rt::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://{addr}/api/v1/write")
        }

        fn script(&self, replies: impl IntoIterator<Item = Reply>) {
            self.log.lock().unwrap().script.extend(replies);
        }

        fn fail_all(&self, on: bool) {
            self.log.lock().unwrap().fail_all = on;
        }

        fn commit_but_fail(&self, on: bool) {
            self.log.lock().unwrap().commit_but_fail = on;
        }

        fn with<T>(&self, f: impl FnOnce(&Log) -> T) -> T {
            f(&self.log.lock().unwrap())
        }

        /// Waits (woken by each request, never polling on a timer) until `cond` holds.
        async fn wait(&self, what: &str, cond: impl Fn(&Log) -> bool) {
            let waited = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    let notified = self.changed.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if self.with(&cond) {
                        return;
                    }
                    notified.await;
                }
            })
            .await;
            assert!(
                waited.is_ok(),
                "timed out waiting for {what}: {:#?}",
                self.with(|l| l.seen.clone())
            );
        }
    }

    async fn receive(State(r): State<Receiver>, hdrs: HeaderMap, body: Bytes) -> Response {
        let header = |name: &str| hdrs.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(header("content-encoding"), headers::CONTENT_ENCODING);
        assert_eq!(header("content-type"), headers::CONTENT_TYPE);
        assert_eq!(
            header(headers::REMOTE_WRITE_VERSION_HEADER),
            headers::REMOTE_WRITE_VERSION
        );
        assert!(header("user-agent").starts_with("Skyview/"));
        let id = BatchId::parse(header(headers::BATCH_HEADER)).unwrap();
        let request = decode_write_request(&body, 1 << 24).unwrap();
        let samples = request
            .timeseries
            .iter()
            .flat_map(|ts| {
                let name = ts
                    .labels
                    .iter()
                    .map(|l| format!("{}={}", l.name, l.value))
                    .collect::<Vec<_>>()
                    .join(",");
                ts.samples
                    .iter()
                    .map(move |s| (name.clone(), s.timestamp, s.value))
            })
            .collect();
        let reply = {
            let mut log = r.log.lock().unwrap();
            let reply = if log.fail_all || log.commit_but_fail {
                Reply::Status(500)
            } else {
                log.script.pop_front().unwrap_or(Reply::Status(200))
            };
            let status = match reply {
                Reply::Status(s) | Reply::RetryAfter(s, _) => s,
            };
            let mark = log.committed.get(&id.queue).copied();
            let stored =
                (status == 200 || log.commit_but_fail) && mark.is_none_or(|mark| id.last > mark);
            if stored {
                log.committed.insert(id.queue, id.last);
            }
            log.seen.push(Seen {
                id,
                status,
                stored,
                at: Instant::now(),
                samples,
            });
            reply
        };
        r.changed.notify_waiters();
        match reply {
            Reply::Status(s) => {
                (StatusCode::from_u16(s).unwrap(), "scripted answer").into_response()
            }
            Reply::RetryAfter(s, secs) => (
                StatusCode::from_u16(s).unwrap(),
                [("retry-after", secs.to_string())],
                "slow down",
            )
                .into_response(),
        }
    }

    async fn committed(
        State(r): State<Receiver>,
        Path((agent, queue)): Path<(String, u32)>,
    ) -> axum::Json<serde_json::Value> {
        let committed = r.log.lock().unwrap().committed.get(&queue).copied();
        axum::Json(serde_json::json!({
            "status": "success",
            "data": {"agent": agent, "queue": queue, "committed": committed},
        }))
    }

    /// Waits until `cond` holds on the shipper's metrics, which move just after the receiver
    /// answers (checked every few milliseconds, bounded).
    async fn wait_metric(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    struct Agent {
        dir: tempfile::TempDir,
        wal: Addr<Wal>,
        metrics: Arc<AgentMetrics>,
        refs: Vec<u64>,
    }

    impl Agent {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let metrics = Arc::new(AgentMetrics::new());
            let wal = Wal::start(WalOptions::new(dir.path().join("wal")), metrics.clone()).unwrap();
            Self {
                dir,
                wal,
                metrics,
                refs: Vec::new(),
            }
        }

        fn shipper(
            &self,
            url: &str,
            queue_config: QueueConfig,
        ) -> (Addr<Shipper>, Arc<EndpointMetrics>) {
            let cfg = RemoteWriteConfig {
                url: url.to_owned(),
                remote_timeout: PromDuration::from_secs(5),
                queue_config,
                ..serde_yaml_ng::from_str(&format!("url: {url}")).unwrap()
            };
            let shipper = Shipper::new(
                cfg,
                BTreeMap::from([("cluster".to_owned(), "test".to_owned())]),
                "agent-1".to_owned(),
                self.wal.clone(),
                self.dir.path().join("wal"),
                self.dir.path().to_path_buf(),
                self.metrics.clone(),
            )
            .unwrap();
            let metrics = shipper.metrics.clone();
            (shipper.start(), metrics)
        }

        /// Appends one scrape of `n` series (`m{i="0"}`..) at time `t`, value `t + i`.
        async fn scrape(&mut self, n: usize, t: i64) {
            let mut append = Append::default();
            for i in 0..n {
                let series = match self.refs.get(i) {
                    Some(r) => SeriesId::Ref(*r),
                    None => {
                        append.new_series.push(Labels::from_pairs([
                            ("__name__", "m"),
                            ("i", &i.to_string()),
                        ]));
                        SeriesId::New(append.new_series.len() as u32 - 1)
                    }
                };
                append.samples.push(AppendSample {
                    series,
                    t,
                    v: (t + i as i64) as f64,
                });
            }
            let appended = self.wal.send(append).await.unwrap().unwrap();
            self.refs.extend(appended.refs);
        }
    }

    fn expected(n: usize, ts: &[i64]) -> Vec<(String, i64, f64)> {
        let mut out: Vec<_> = ts
            .iter()
            .flat_map(|&t| {
                (0..n).map(move |i| {
                    (
                        format!("__name__=m,cluster=test,i={i}"),
                        t,
                        (t + i as i64) as f64,
                    )
                })
            })
            .collect();
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out
    }

    fn sorted(mut v: Vec<(String, i64, f64)>) -> Vec<(String, i64, f64)> {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    }

    fn fast_queue(max_shards: usize) -> QueueConfig {
        QueueConfig {
            max_shards,
            max_samples_per_send: 100,
            batch_send_deadline: PromDuration::from_millis(20),
            min_backoff: PromDuration::from_millis(5),
            max_backoff: PromDuration::from_millis(40),
            ..QueueConfig::default()
        }
    }

    #[actix_rt::test]
    async fn retries_5xx_with_a_stable_identity_and_drops_4xx() {
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        let mut agent = Agent::new();
        receiver.script([Reply::Status(500), Reply::Status(503), Reply::Status(500)]);
        let (_shipper, m) = agent.shipper(&url, fast_queue(1));

        agent.scrape(5, 1_000).await;
        receiver
            .wait("the first batch accepted", |l| l.accepted().len() == 5)
            .await;
        receiver.with(|l| {
            let statuses: Vec<u16> = l.seen.iter().map(|s| s.status).collect();
            assert_eq!(statuses, [500, 503, 500, 200]);
            let ids: HashSet<&BatchId> = l.seen.iter().map(|s| &s.id).collect();
            assert_eq!(ids.len(), 1, "a retried batch keeps its identity");
        });
        wait_metric("the ack counted", || m.sent_samples.get() == 5).await;
        assert_eq!(m.retried_batches.get(), 3);
        assert_eq!(m.failed_requests.get(), 3);

        receiver.script([Reply::Status(400)]);
        agent.scrape(5, 2_000).await;
        receiver
            .wait("the 400", |l| l.seen.iter().any(|s| s.status == 400))
            .await;
        agent.scrape(5, 3_000).await;
        receiver
            .wait("the third batch", |l| l.accepted().len() == 10)
            .await;
        wait_metric("the ack counted", || m.sent_samples.get() == 10).await;
        assert_eq!(m.dropped_count(DropCause::Http4xx), 5);
        assert_eq!(
            receiver.with(|l| sorted(l.accepted())),
            expected(5, &[1_000, 3_000])
        );
        receiver.with(|l| {
            let ids: Vec<&BatchId> = l.seen.iter().map(|s| &s.id).collect();
            assert!(
                ids.windows(2)
                    .all(|w| w[0] == w[1] || w[0].last < w[1].first),
                "{ids:?}"
            );
        });
    }

    #[actix_rt::test]
    async fn honours_retry_after_on_429_when_enabled() {
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        let mut agent = Agent::new();
        receiver.script([Reply::RetryAfter(429, 1)]);
        let (_shipper, m) = agent.shipper(
            &url,
            QueueConfig {
                retry_on_http_429: true,
                ..fast_queue(1)
            },
        );
        agent.scrape(3, 1_000).await;
        receiver
            .wait("the retry", |l| l.accepted().len() == 3)
            .await;
        receiver.with(|l| {
            assert_eq!(l.seen.len(), 2);
            assert_eq!(l.seen[0].id, l.seen[1].id);
            let waited = l.seen[1].at - l.seen[0].at;
            assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
        });
        assert_eq!(m.dropped_count(DropCause::Http4xx), 0);

        // Without retry_on_http_429 the same answer drops the batch.
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        let mut agent = Agent::new();
        receiver.script([Reply::RetryAfter(429, 1)]);
        let (_shipper, m) = agent.shipper(&url, fast_queue(1));
        agent.scrape(3, 1_000).await;
        receiver.wait("the 429", |l| !l.seen.is_empty()).await;
        agent.scrape(3, 2_000).await;
        receiver
            .wait("the next batch", |l| l.accepted().len() == 3)
            .await;
        assert_eq!(m.dropped_count(DropCause::Http4xx), 3);
    }

    #[actix_rt::test]
    async fn a_restarted_shipper_resumes_from_its_cursors_with_the_same_identities() {
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        let mut agent = Agent::new();
        let (shipper, _) = agent.shipper(&url, fast_queue(2));
        agent.scrape(40, 1_000).await;
        receiver
            .wait("the first scrape", |l| l.accepted().len() == 40)
            .await;

        // The receiver goes down; the second scrape's batches are in flight when we stop.
        receiver.fail_all(true);
        agent.scrape(40, 2_000).await;
        receiver
            .wait("both queues failing", |l| {
                l.seen
                    .iter()
                    .filter(|s| s.status == 500)
                    .map(|s| s.id.queue)
                    .collect::<HashSet<_>>()
                    .len()
                    == 2
            })
            .await;
        shipper.send(StopShipper).await.unwrap();
        let in_flight: HashSet<BatchId> = receiver.with(|l| {
            l.seen
                .iter()
                .filter(|s| s.status == 500)
                .map(|s| s.id.clone())
                .collect()
        });
        assert_eq!(
            in_flight.len(),
            2,
            "one batch in flight per queue: {in_flight:?}"
        );
        let before = receiver.with(|l| l.seen.len());

        receiver.fail_all(false);
        let (_shipper, m) = agent.shipper(&url, fast_queue(2));
        agent.scrape(40, 3_000).await;
        receiver
            .wait("everything", |l| l.accepted().len() == 120)
            .await;
        assert_eq!(
            receiver.with(|l| sorted(l.accepted())),
            expected(40, &[1_000, 2_000, 3_000])
        );
        receiver.with(|l| {
            // The first request of each queue after the restart is the batch that was in flight.
            for q in 0..2 {
                let first = l.seen[before..].iter().find(|s| s.id.queue == q).unwrap();
                assert!(
                    in_flight.contains(&first.id),
                    "queue {q} resent {:?}",
                    first.id
                );
            }
        });
        // Counters belong to the endpoint, so they add up across the two shippers.
        wait_metric("all acks counted", || m.sent_samples.get() == 120).await;
        assert_eq!(m.pending_samples.get(), 0);
    }

    #[actix_rt::test]
    async fn a_restarted_shipper_skips_what_the_receiver_committed() {
        let receiver = Receiver::skyview();
        let url = receiver.serve().await;
        let mut agent = Agent::new();
        let (shipper, m) = agent.shipper(&url, fast_queue(2));
        agent.scrape(40, 1_000).await;
        receiver
            .wait("the first scrape", |l| l.accepted().len() == 40)
            .await;
        assert_eq!(m.committed_resumes.get(), 0, "nothing was committed yet");

        // The receiver commits the second scrape's batches but every answer is lost: the agent
        // keeps retrying them, and its cursors name them as in flight when it stops.
        receiver.commit_but_fail(true);
        agent.scrape(40, 2_000).await;
        receiver
            .wait("both queues' batches committed and retried", |l| {
                l.accepted().len() == 80
                    && (0..2).all(|q| {
                        l.seen
                            .iter()
                            .filter(|s| s.id.queue == q && !s.stored)
                            .count()
                            >= 1
                    })
            })
            .await;
        shipper.send(StopShipper).await.unwrap();
        let (before, marks) = receiver.with(|l| (l.seen.len(), l.committed.clone()));
        assert_eq!(marks.len(), 2);

        receiver.commit_but_fail(false);
        let (_shipper, m) = agent.shipper(&url, fast_queue(2));
        agent.scrape(40, 3_000).await;
        receiver
            .wait("everything", |l| l.accepted().len() == 120)
            .await;
        assert_eq!(
            receiver.with(|l| sorted(l.accepted())),
            expected(40, &[1_000, 2_000, 3_000])
        );
        receiver.with(|l| {
            for s in &l.seen[before..] {
                assert!(
                    s.id.last > marks[&s.id.queue],
                    "{} resent although the receiver committed up to {}",
                    s.id,
                    marks[&s.id.queue]
                );
                assert!(s.stored, "{} was a duplicate", s.id);
            }
        });
        assert_eq!(m.committed_resumes.get(), 2);
        wait_metric("all acks counted", || m.sent_samples.get() == 80).await;
        assert_eq!(m.pending_samples.get(), 0);
    }
}
