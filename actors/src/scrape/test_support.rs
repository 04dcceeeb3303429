//! Test doubles for the scrape actors: an HTTP target served from the test on an ephemeral
//! port whose behaviour the test switches, and a WAL stand-in that assigns references and
//! reports every append it receives.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::discovery::Target;
use crate::labels::Labels;
use crate::sample::is_stale_nan;
use crate::wal::{Append, Appended, SeriesId, WalError, WalPos};

/// How the test target answers.
#[derive(Clone, Debug)]
pub enum Reply {
    Text(String),
    OpenMetricsGzip(String),
    Status(u16),
    Hang,
}

/// A metrics endpoint on 127.0.0.1:0.
#[derive(Clone, Debug)]
pub struct TestTarget {
    pub url: String,
    reply: Arc<Mutex<Reply>>,
    /// Headers of the last request.
    pub last_headers: Arc<Mutex<HeaderMap>>,
}

impl TestTarget {
    pub async fn start(reply: Reply) -> Self {
        let reply = Arc::new(Mutex::new(reply));
        let last_headers = Arc::new(Mutex::new(HeaderMap::new()));
        let (r, h) = (Arc::clone(&reply), Arc::clone(&last_headers));
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move |headers: HeaderMap| {
                let (r, h) = (Arc::clone(&r), Arc::clone(&h));
                async move {
                    *h.lock().unwrap() = headers;
                    let reply = r.lock().unwrap().clone();
                    respond(reply).await
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/metrics", listener.local_addr().unwrap());
        actix_rt::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            reply,
            last_headers,
        }
    }

    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    pub fn target(&self, job: &str, interval: Duration, timeout: Duration) -> Target {
        let instance = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_owned();
        Target {
            job: job.into(),
            url: self.url.clone(),
            labels: Labels::from_pairs([("job", job), ("instance", instance.as_str())]),
            discovered_labels: Labels::from_pairs([("__address__", instance.as_str())]),
            interval,
            timeout,
        }
    }
}

async fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Text(body) => {
            ([("content-type", "text/plain; version=0.0.4")], body).into_response()
        }
        Reply::OpenMetricsGzip(body) => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(body.as_bytes()).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(
                "content-type",
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            headers.insert("content-encoding", HeaderValue::from_static("gzip"));
            (headers, gz.finish().unwrap()).into_response()
        }
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::Hang => std::future::pending().await,
    }
}

/// One sample as the WAL stand-in resolved it: series text (`Labels` display), t, v.
pub type Resolved = (String, i64, f64);

/// Assigns references like a WAL and sends each append's resolved samples to the test.
#[derive(Debug)]
pub struct RecordingWal {
    series: Vec<Labels>,
    tx: mpsc::UnboundedSender<Vec<Resolved>>,
}

impl RecordingWal {
    pub fn start() -> (Recipient<Append>, mpsc::UnboundedReceiver<Vec<Resolved>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                series: Vec::new(),
                tx,
            }
            .start()
            .recipient(),
            rx,
        )
    }
}

impl Actor for RecordingWal {
    type Context = Context<Self>;
}

impl Handler<Append> for RecordingWal {
    type Result = Result<Appended, WalError>;

    fn handle(&mut self, msg: Append, _: &mut Context<Self>) -> Self::Result {
        let first = self.series.len() as u64;
        self.series.extend(msg.new_series);
        let refs: Vec<u64> = (first..self.series.len() as u64).collect();
        let mut resolved = Vec::new();
        for s in msg.samples {
            let r = match s.series {
                SeriesId::Ref(r) => r,
                SeriesId::New(i) => first + u64::from(i),
            };
            let series = self
                .series
                .get(r as usize)
                .ok_or(WalError::UnknownSeries { series_ref: r })?;
            resolved.push((series.to_string(), s.t, s.v));
        }
        let _ = self.tx.send(resolved);
        Ok(Appended {
            refs,
            end: WalPos::ZERO,
        })
    }
}

/// Receives appends until one satisfies `pred`, failing the test after 10 s.
pub async fn next_matching(
    rx: &mut mpsc::UnboundedReceiver<Vec<Resolved>>,
    what: &str,
    pred: impl Fn(&[Resolved]) -> bool,
) -> Vec<Resolved> {
    let wait = async {
        loop {
            let append = rx.recv().await.expect("WAL stand-in stopped");
            if pred(&append) {
                return append;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no append with {what} within 10s"))
}

/// The non-stale value of `series` in an append.
pub fn value(append: &[Resolved], series: &str) -> Option<f64> {
    append
        .iter()
        .find(|(s, _, v)| s == series && !is_stale_nan(*v))
        .map(|(_, _, v)| *v)
}

/// Whether `series` got a stale marker in an append.
pub fn is_stale(append: &[Resolved], series: &str) -> bool {
    append
        .iter()
        .any(|(s, _, v)| s == series && is_stale_nan(*v))
}
