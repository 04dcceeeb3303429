//! Targets that misbehave the ways the bad-input tests need: a malformed exposition, a
//! response that never comes, and a 10 MB body with far more series than any `sample_limit`.
//!
//! Each counts the requests it received, so a test can wait until the agent has tried a few
//! scrapes before looking at the outcome.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A body that is not valid text exposition: an unterminated label set and a line of prose.
const MALFORMED: &str = "# TYPE good_total counter\ngood_total 1\nbroken_metric{label=\"never closed 2\nthis line is not exposition at all\n";

/// How a [`BadTarget`] misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answers 200 with a body that does not parse.
    Malformed,
    /// Accepts the request and never answers.
    Hang,
    /// Answers 200 with `bytes` of distinct series (27 bytes each).
    Huge { bytes: usize },
}

#[derive(Debug)]
struct BadState {
    behaviour: Misbehaviour,
    huge_body: Bytes,
    requests: AtomicU64,
}

/// A running misbehaving target; it stops when dropped.
#[derive(Debug)]
pub struct BadTarget {
    addr: SocketAddr,
    state: Arc<BadState>,
    task: JoinHandle<()>,
}

impl BadTarget {
    pub async fn start(behaviour: Misbehaviour) -> Result<Self> {
        let huge_body = match behaviour {
            Misbehaviour::Huge { bytes } => huge_body(bytes),
            Misbehaviour::Malformed | Misbehaviour::Hang => Bytes::new(),
        };
        let state = Arc::new(BadState {
            behaviour,
            huge_body,
            requests: AtomicU64::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a bad target")?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/metrics", get(serve))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("bad target {addr} stopped: {e}");
            }
        });
        Ok(Self { addr, state, task })
    }

    /// `host:port`, for a scrape config.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Requests received so far (including ones still hanging).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for BadTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Distinct series `huge_series{i="0000000"} 1` until `bytes` are reached.
fn huge_body(bytes: usize) -> Bytes {
    let mut body = String::with_capacity(bytes + 64);
    body.push_str("# TYPE huge_series gauge\n");
    let mut i = 0u64;
    while body.len() < bytes {
        let _ = writeln!(body, "huge_series{{i=\"{i:07}\"}} 1");
        i += 1;
    }
    Bytes::from(body)
}

async fn serve(State(state): State<Arc<BadState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let text = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    match state.behaviour {
        Misbehaviour::Malformed => (text, MALFORMED).into_response(),
        Misbehaviour::Hang => std::future::pending().await,
        Misbehaviour::Huge { .. } => (text, state.huge_body.clone()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::sample_lines;
    use std::time::Duration;

    #[tokio::test]
    async fn huge_serves_the_requested_size_of_distinct_series() {
        let target = BadTarget::start(Misbehaviour::Huge { bytes: 10 << 20 })
            .await
            .unwrap();
        let body = reqwest::get(format!("http://{}/metrics", target.target()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.len() >= 10 << 20 && body.len() < (10 << 20) + 64);
        assert!(sample_lines(&body).len() > 350_000);
        assert_eq!(target.requests(), 1);
    }

    #[tokio::test]
    async fn hang_never_answers_and_malformed_answers_garbage() {
        let hang = BadTarget::start(Misbehaviour::Hang).await.unwrap();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let err = client
            .get(format!("http://{}/metrics", hang.target()))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(hang.requests(), 1);

        let malformed = BadTarget::start(Misbehaviour::Malformed).await.unwrap();
        let body = reqwest::get(format!("http://{}/metrics", malformed.target()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("never closed"));
    }
}
