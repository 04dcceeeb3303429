//! A restarted agent resumes each queue after the position the receiver reports as committed,
//! so batches the receiver committed but never acknowledged are not sent again
//! (prometheus/prometheus#8809).
//!
//! The receiver here plays a Skyview receiver's part of the contract, and nothing more: it
//! deduplicates batches by the `X-Skyview-Batch` high-water mark per `(agent, queue)`, and
//! serves that mark at `GET /api/v1/agents/{agent}/queues/{queue}/committed`. (The real
//! cluster's endpoint is tested with the cluster.) Partway through it starts *losing its
//! answers*: it commits each batch and then answers 503, as when a response is lost on the way
//! back. The agent, which cannot tell, keeps retrying those batches and its cursors keep naming
//! them as in flight. The agent is then killed with SIGKILL and restarted: from its cursors alone
//! it would resend every one of those batches under their identities; asking the receiver, it
//! must resend none of them, and still deliver every scrape exactly once.
//!
//! The second test runs the same scenario against a real single-node `skyview receiver`: a
//! forwarding proxy in front of it loses the answers (as a load balancer timing out would), so
//! the high-water mark the agent resumes from is the one the cluster itself recorded and
//! served, and the data is checked with the cluster's own read path.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, ensure, Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use skyview_api::remote_write::{decode_write_request, headers, BatchId};
use skyview_tests::completeness::{check_scrape_sequence, SequenceDefect};
use skyview_tests::prom_config::{PromConfig, QueueConfig, RemoteWrite, ScrapeJob};
use skyview_tests::receiver::ReceiverCluster;
use skyview_tests::skyview::{AgentOptions, SkyviewAgent};
use skyview_tests::targets::{SyntheticTargets, SCRAPE_COUNTER};
use skyview_tests::wait::wait_until;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const TIMEOUT: Duration = Duration::from_secs(60);
const MAX_BODY: usize = 64 << 20;
/// Series per scrape: enough to spread over every queue.
const SERIES: usize = 40;

/// One write request as the receiver saw it.
#[derive(Clone, Debug)]
struct Seen {
    id: BatchId,
    /// Applied (its `last` was past the mark), rather than skipped as a duplicate.
    stored: bool,
    /// Whether the receiver was losing its answers (it answered 503 after committing).
    answer_lost: bool,
}

#[derive(Debug, Default)]
struct Inner {
    lose_answers: bool,
    /// The committed high-water mark per `(agent, queue)`.
    marks: BTreeMap<(String, u32), u64>,
    seen: Vec<Seen>,
    committed_queries: u64,
    /// `SCRAPE_COUNTER` samples applied, `(timestamp_ms, value)`.
    counter: Vec<(i64, f64)>,
}

/// A receiver holding to the Skyview dedup and committed-position contract.
struct SkyviewLikeReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<Inner>>,
    task: JoinHandle<()>,
}

impl SkyviewLikeReceiver {
    async fn start() -> Result<Self> {
        let state = Arc::new(Mutex::new(Inner::default()));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the receiver")?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/v1/write", post(write))
            .route(
                "/api/v1/agents/{agent}/queues/{queue}/committed",
                get(committed),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("receiver {addr} stopped: {e}");
            }
        });
        Ok(Self { addr, state, task })
    }

    fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for SkyviewLikeReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn write(State(state): State<Arc<Mutex<Inner>>>, hdrs: HeaderMap, body: Bytes) -> Response {
    let header = hdrs
        .get(headers::BATCH_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let id = match BatchId::parse(header) {
        Ok(id) => id,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let request = match decode_write_request(&body, MAX_BODY) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut inner = state.lock().unwrap_or_else(|p| p.into_inner());
    let key = (id.agent_id.clone(), id.queue);
    let stored = inner.marks.get(&key).is_none_or(|&mark| id.last > mark);
    if stored {
        inner.marks.insert(key, id.last);
        for series in &request.timeseries {
            let is_counter = series
                .labels
                .iter()
                .any(|l| l.name == "__name__" && l.value == SCRAPE_COUNTER);
            if is_counter {
                let samples = series.samples.iter().map(|s| (s.timestamp, s.value));
                inner.counter.extend(samples);
            }
        }
    }
    let answer_lost = inner.lose_answers;
    inner.seen.push(Seen {
        id,
        stored,
        answer_lost,
    });
    if answer_lost {
        (StatusCode::SERVICE_UNAVAILABLE, "answer lost\n").into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn committed(
    State(state): State<Arc<Mutex<Inner>>>,
    Path((agent, queue)): Path<(String, u32)>,
) -> Json<serde_json::Value> {
    let mut inner = state.lock().unwrap_or_else(|p| p.into_inner());
    inner.committed_queries += 1;
    let committed = inner.marks.get(&(agent.clone(), queue)).copied();
    Json(serde_json::json!({
        "status": "success",
        "data": {"agent": agent, "queue": queue, "committed": committed},
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_does_not_resend_what_the_receiver_committed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let targets = SyntheticTargets::start(1, SERIES).await?;
    let receiver = SkyviewLikeReceiver::start().await?;
    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("synthetic", targets.targets()))
        .remote(RemoteWrite::new(receiver.write_url()).queue(QueueConfig::fast()))
        .write(&options.config)?;
    let mut agent = SkyviewAgent::start(options).await?;
    let resumes = "skyview_agent_remote_committed_resumes_total";

    wait_until("the first scrapes at the receiver", TIMEOUT, || async {
        Ok((receiver.inner().counter.len() >= 3).then_some(()))
    })
    .await?;
    let queues = agent.metric("skyview_agent_remote_queues", &[]).await? as u64;
    ensure!(
        queues > 1,
        "expected several queues, the agent runs {queues}"
    );
    ensure!(
        agent.metric(resumes, &[]).await? == 0.0,
        "nothing was committed when the agent started"
    );

    // The receiver keeps committing but loses every answer: the agent retries, and each queue
    // that sent a batch holds it in flight.
    receiver.inner().lose_answers = true;
    let lost_from = targets.scrapes(0);
    let in_flight = wait_until("batches committed and retried", TIMEOUT, || async {
        let inner = receiver.inner();
        let committed: BTreeSet<u32> = inner
            .seen
            .iter()
            .filter(|s| s.answer_lost && s.stored)
            .map(|s| s.id.queue)
            .collect();
        let retried: BTreeSet<u32> = inner
            .seen
            .iter()
            .filter(|s| s.answer_lost && !s.stored)
            .map(|s| s.id.queue)
            .collect();
        let ready =
            !committed.is_empty() && committed == retried && targets.scrapes(0) >= lost_from + 3;
        Ok(ready.then_some(committed))
    })
    .await?;

    agent.kill9()?;
    let served_at_kill = targets.scrapes(0);
    let (before, marks, queries) = {
        let mut inner = receiver.inner();
        inner.lose_answers = false;
        (
            inner.seen.len(),
            inner.marks.clone(),
            inner.committed_queries,
        )
    };
    agent.restart().await?;

    // More scrapes after the restart, then the source is frozen so the total is fixed.
    wait_until("scrapes after the restart", TIMEOUT, || async {
        Ok((targets.scrapes(0) >= served_at_kill + 3).then_some(()))
    })
    .await?;
    targets.set_available(false);
    let served = targets.scrapes(0);
    wait_until("every scrape at the receiver", TIMEOUT, || async {
        let counter = receiver.inner().counter.clone();
        match check_scrape_sequence(&counter, served) {
            Ok(()) => Ok(Some(())),
            // The scrape in flight at SIGKILL was never durable, so never acknowledged.
            Err(SequenceDefect::Missing(missing)) if missing == [served_at_kill] => Ok(Some(())),
            // Reported if it is still wrong at the deadline.
            Err(defect) => Err(anyhow!("the receiver's scrape sequence: {defect}")),
        }
    })
    .await?;

    let (seen, asked) = {
        let inner = receiver.inner();
        (
            inner.seen[before..].to_vec(),
            inner.committed_queries - queries,
        )
    };
    for s in &seen {
        let mark = marks.get(&(s.id.agent_id.clone(), s.id.queue));
        ensure!(
            mark.is_none_or(|&mark| s.id.last > mark),
            "batch {} was sent again although the receiver had committed its queue up to {mark:?}",
            s.id
        );
        ensure!(s.stored, "batch {} was a duplicate", s.id);
    }
    ensure!(
        asked >= queues,
        "the restarted agent asked {asked} times for {queues} queues"
    );
    let resumed = agent.metric(resumes, &[]).await? as usize;
    ensure!(
        resumed >= in_flight.len() && resumed as u64 <= queues,
        "{resumed} queues resumed from the receiver; {} had committed batches in flight",
        in_flight.len()
    );
    eprintln!(
        "served {served} scrapes; {} queues had committed batches in flight at SIGKILL, {resumed} resumed after the receiver's mark",
        in_flight.len()
    );
    agent.stop().await
}

/// One write the proxy forwarded.
#[derive(Clone, Debug)]
struct Forwarded {
    id: BatchId,
    upstream: u16,
    answer_lost: bool,
}

#[derive(Debug, Default)]
struct ProxyInner {
    lose_answers: bool,
    seen: Vec<Forwarded>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    inner: Arc<Mutex<ProxyInner>>,
}

impl ProxyState {
    fn inner(&self) -> MutexGuard<'_, ProxyInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Forwards writes and committed queries to a real receiver; can lose the write answers.
struct LossyProxy {
    addr: SocketAddr,
    state: ProxyState,
    task: JoinHandle<()>,
}

impl LossyProxy {
    async fn start(upstream: String) -> Result<Self> {
        let state = ProxyState {
            upstream,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            inner: Arc::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/v1/write", post(forward_write))
            .route(
                "/api/v1/agents/{agent}/queues/{queue}/committed",
                get(forward_committed),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("proxy {addr} stopped: {e}");
            }
        });
        Ok(Self { addr, state, task })
    }

    fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward_write(State(state): State<ProxyState>, hdrs: HeaderMap, body: Bytes) -> Response {
    let Some(id) = hdrs
        .get(headers::BATCH_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| BatchId::parse(v).ok())
    else {
        return (StatusCode::BAD_REQUEST, "no batch identity\n").into_response();
    };
    let mut request = state
        .http
        .post(format!("{}/api/v1/write", state.upstream))
        .body(body);
    for (name, value) in &hdrs {
        let forwarded = name.as_str().starts_with("content-")
            || name.as_str().starts_with("x-")
            || name.as_str() == "user-agent";
        if forwarded && name.as_str() != "content-length" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let (upstream, text) = match request.send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (502, e.to_string()),
    };
    let answer_lost = {
        let mut inner = state.inner();
        let lost = inner.lose_answers;
        inner.seen.push(Forwarded {
            id,
            upstream,
            answer_lost: lost,
        });
        lost
    };
    if answer_lost {
        return (StatusCode::SERVICE_UNAVAILABLE, "answer lost\n").into_response();
    }
    let code = StatusCode::from_u16(upstream).unwrap_or(StatusCode::BAD_GATEWAY);
    (code, text).into_response()
}

async fn forward_committed(
    State(state): State<ProxyState>,
    Path((agent, queue)): Path<(String, u32)>,
) -> Response {
    let url = format!(
        "{}/api/v1/agents/{agent}/queues/{queue}/committed",
        state.upstream
    );
    match state.http.get(url).send().await {
        Ok(r) => {
            let code = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (code, r.text().await.unwrap_or_default()).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The committed position the receiver at `base` reports for `agent`'s `queue`.
async fn receiver_committed(base: &str, agent: &str, queue: u32) -> Result<Option<u64>> {
    let url = format!("{base}/api/v1/agents/{agent}/queues/{queue}/committed");
    let body = reqwest::get(&url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(body["data"]["committed"].as_u64())
}

/// Every `SCRAPE_COUNTER` sample the receiver at `base` holds, through its select read path.
async fn receiver_counter(base: &str) -> Result<Vec<(i64, f64)>> {
    let url = format!("{base}/api/v1/internal/select");
    let body = reqwest::Client::new()
        .get(&url)
        .query(&[("match[]", SCRAPE_COUNTER)])
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    let series = body["data"]
        .as_array()
        .context("select: data is not an array")?;
    let mut samples = Vec::new();
    for s in series {
        for pair in s["values"].as_array().context("select: no values")? {
            let t = pair[0].as_f64().context("select: timestamp")?;
            let v: f64 = pair[1].as_str().context("select: value")?.parse()?;
            samples.push(((t * 1000.0).round() as i64, v));
        }
    }
    Ok(samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_resumes_from_a_real_receivers_committed_mark() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = ReceiverCluster::start(1, 4, 1).await?;
    let base = cluster.url(1);
    let proxy = LossyProxy::start(base.clone()).await?;
    let targets = SyntheticTargets::start(1, SERIES).await?;
    let options = AgentOptions::in_dir(dir.path());
    PromConfig::new(Duration::from_secs(1))
        .job(ScrapeJob::new("synthetic", targets.targets()))
        .remote(RemoteWrite::new(proxy.write_url()).queue(QueueConfig::fast()))
        .write(&options.config)?;
    let mut agent = SkyviewAgent::start(options).await?;

    let delivered = |inner: &ProxyInner| {
        inner
            .seen
            .iter()
            .filter(|f| (200..300).contains(&f.upstream))
            .count()
    };
    wait_until("the first batches committed", TIMEOUT, || async {
        Ok((delivered(&proxy.state.inner()) >= 3).then_some(()))
    })
    .await?;

    // The cluster commits; the proxy loses the answers, so the agent retries.
    proxy.state.inner().lose_answers = true;
    let lost_from = targets.scrapes(0);
    let in_flight = wait_until("batches committed and retried", TIMEOUT, || async {
        let inner = proxy.state.inner();
        let mut tries: BTreeMap<u32, usize> = BTreeMap::new();
        for f in inner.seen.iter().filter(|f| f.answer_lost) {
            *tries.entry(f.id.queue).or_default() += 1;
        }
        let ready = !tries.is_empty()
            && tries.values().all(|&n| n >= 2)
            && targets.scrapes(0) >= lost_from + 3;
        Ok(ready.then(|| tries.into_keys().collect::<BTreeSet<u32>>()))
    })
    .await?;

    agent.kill9()?;
    let served_at_kill = targets.scrapes(0);
    let (before, marks, agent_id) = {
        let mut inner = proxy.state.inner();
        inner.lose_answers = false;
        let mut marks: BTreeMap<u32, u64> = BTreeMap::new();
        for f in inner
            .seen
            .iter()
            .filter(|f| (200..300).contains(&f.upstream))
        {
            let mark = marks.entry(f.id.queue).or_default();
            *mark = (*mark).max(f.id.last);
        }
        let agent_id = inner.seen[0].id.agent_id.clone();
        (inner.seen.len(), marks, agent_id)
    };
    // The cluster records high-water marks in the background; the agent must find them.
    wait_until("the cluster's committed marks", TIMEOUT, || async {
        for (&queue, &mark) in &marks {
            let committed = receiver_committed(&base, &agent_id, queue).await?;
            if committed.is_none_or(|c| c < mark) {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await?;
    agent.restart().await?;

    wait_until("scrapes after the restart", TIMEOUT, || async {
        Ok((targets.scrapes(0) >= served_at_kill + 3).then_some(()))
    })
    .await?;
    targets.set_available(false);
    let served = targets.scrapes(0);
    wait_until("every scrape at the receiver", TIMEOUT, || async {
        let counter = receiver_counter(&base).await?;
        match check_scrape_sequence(&counter, served) {
            Ok(()) => Ok(Some(())),
            Err(SequenceDefect::Missing(missing)) if missing == [served_at_kill] => Ok(Some(())),
            Err(defect) => Err(anyhow!("the receiver's scrape sequence: {defect}")),
        }
    })
    .await?;

    for f in &proxy.state.inner().seen[before..] {
        let mark = marks.get(&f.id.queue);
        ensure!(
            mark.is_none_or(|&mark| f.id.last > mark),
            "batch {} was sent again although the cluster had committed its queue up to {mark:?}",
            f.id
        );
    }
    let resumed = agent
        .metric("skyview_agent_remote_committed_resumes_total", &[])
        .await? as usize;
    ensure!(
        resumed >= in_flight.len(),
        "{resumed} queues resumed from the cluster; {} had committed batches in flight",
        in_flight.len()
    );
    agent.stop().await
}
