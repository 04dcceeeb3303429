//! A remote-write receiver that misbehaves on purpose, for the shipper's failure tests.
//!
//! Real receivers only fail by accident; this one answers 400 forever, fails the first N
//! requests with 429 or 500, or answers slowly, as a test asks. It decodes every request with
//! `skyview_api`'s decoder (a body that does not decode is answered 400 and counted, so a test
//! can assert there were none) and keeps the samples of the requests it accepted, per series,
//! so a test can check that each scrape arrived exactly once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use skyview_api::remote_write::decode_write_request;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Largest request body accepted (compressed and decoded alike).
const MAX_BODY: usize = 64 << 20;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverBehaviour {
    /// Every request gets `status` and nothing is kept.
    AlwaysStatus(u16),
    /// The first `times` requests get `status` (with `Retry-After: retry_after_secs` when
    /// set), later ones are accepted with 204.
    FailFirst {
        status: u16,
        times: u64,
        retry_after_secs: Option<u64>,
    },
    /// Every request waits `delay` before being accepted with 204.
    Slow { delay: Duration },
}

/// One series' accepted samples, as `(timestamp_ms, value)` in arrival order.
pub type SeriesSamples = Vec<(i64, f64)>;

#[derive(Debug)]
struct ReceiverState {
    behaviour: ReceiverBehaviour,
    requests: AtomicU64,
    decode_errors: AtomicU64,
    /// Keyed by the series' `__name__`, then by its full sorted label set.
    accepted: Mutex<BTreeMap<String, BTreeMap<String, SeriesSamples>>>,
}

/// A running fake receiver; it stops when dropped.
#[derive(Debug)]
pub struct FakeReceiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: JoinHandle<()>,
}

impl FakeReceiver {
    pub async fn start(behaviour: ReceiverBehaviour) -> Result<Self> {
        let state = Arc::new(ReceiverState {
            behaviour,
            requests: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            accepted: Mutex::new(BTreeMap::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the fake receiver")?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/v1/write", post(write))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake receiver {addr} stopped: {e}");
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Requests received, whatever the answer.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests whose body did not decode as a snappy-compressed `WriteRequest`.
    pub fn decode_errors(&self) -> u64 {
        self.state.decode_errors.load(Ordering::SeqCst)
    }

    /// The accepted samples of every series named `name`, keyed by the series' label set.
    pub fn series(&self, name: &str) -> BTreeMap<String, SeriesSamples> {
        let accepted = self
            .state
            .accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        accepted.get(name).cloned().unwrap_or_default()
    }

    /// Accepted samples over all series.
    pub fn accepted_samples(&self) -> usize {
        let accepted = self
            .state
            .accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        accepted
            .values()
            .flat_map(BTreeMap::values)
            .map(Vec::len)
            .sum()
    }
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn write(State(state): State<Arc<ReceiverState>>, body: Bytes) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let request = match decode_write_request(&body, MAX_BODY) {
        Ok(request) => request,
        Err(e) => {
            state.decode_errors.fetch_add(1, Ordering::SeqCst);
            return (StatusCode::BAD_REQUEST, format!("cannot decode: {e}\n")).into_response();
        }
    };
    match state.behaviour {
        ReceiverBehaviour::AlwaysStatus(status) => return status_response(status, None),
        ReceiverBehaviour::FailFirst {
            status,
            times,
            retry_after_secs,
        } if n <= times => return status_response(status, retry_after_secs),
        ReceiverBehaviour::FailFirst { .. } => {}
        ReceiverBehaviour::Slow { delay } => tokio::time::sleep(delay).await,
    }
    let mut accepted = state.accepted.lock().unwrap_or_else(|p| p.into_inner());
    for series in request.timeseries {
        let name = series
            .labels
            .iter()
            .find(|l| l.name == "__name__")
            .map(|l| l.value.clone())
            .unwrap_or_default();
        let key = series
            .labels
            .iter()
            .map(|l| format!("{}={:?}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(",");
        let samples = accepted.entry(name).or_default().entry(key).or_default();
        samples.extend(series.samples.iter().map(|s| (s.timestamp, s.value)));
    }
    StatusCode::NO_CONTENT.into_response()
}

fn status_response(status: u16, retry_after_secs: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, format!("fake receiver answers {status}\n")).into_response();
    if let Some(secs) = retry_after_secs {
        if let Ok(value) = secs.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_api::remote_write::{
        encode_write_request, Label, Sample, TimeSeries, WriteRequest,
    };

    fn body(ts: i64) -> Vec<u8> {
        encode_write_request(&WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "up".into(),
                    },
                    Label {
                        name: "job".into(),
                        value: "a".into(),
                    },
                ],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: ts,
                }],
            }],
            metadata: vec![],
        })
        .unwrap()
    }

    async fn post(url: &str, body: Vec<u8>) -> reqwest::Response {
        reqwest::Client::new()
            .post(url)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn fails_the_first_requests_then_keeps_samples() {
        let receiver = FakeReceiver::start(ReceiverBehaviour::FailFirst {
            status: 429,
            times: 2,
            retry_after_secs: Some(1),
        })
        .await
        .unwrap();
        let url = receiver.write_url();
        let first = post(&url, body(1)).await;
        assert_eq!(first.status(), 429);
        assert_eq!(first.headers()[header::RETRY_AFTER], "1");
        assert_eq!(post(&url, body(1)).await.status(), 429);
        assert_eq!(post(&url, body(1)).await.status(), 204);
        assert_eq!(post(&url, body(2)).await.status(), 204);
        let series = receiver.series("up");
        assert_eq!(series.len(), 1);
        assert_eq!(series.values().next().unwrap(), &vec![(1, 1.0), (2, 1.0)]);
        assert_eq!(receiver.requests(), 4);
        assert_eq!(receiver.accepted_samples(), 2);
    }

    #[tokio::test]
    async fn rejects_undecodable_bodies_and_always_status() {
        let receiver = FakeReceiver::start(ReceiverBehaviour::AlwaysStatus(400))
            .await
            .unwrap();
        assert_eq!(
            post(&receiver.write_url(), b"not snappy".to_vec())
                .await
                .status(),
            400
        );
        assert_eq!(receiver.decode_errors(), 1);
        assert_eq!(post(&receiver.write_url(), body(1)).await.status(), 400);
        assert_eq!(receiver.decode_errors(), 1);
        assert_eq!(receiver.accepted_samples(), 0);
    }
}
