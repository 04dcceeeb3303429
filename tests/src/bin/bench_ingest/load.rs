//! The benchmark's sender: pre-encoded request bodies, a fixed number in flight.
//!
//! All bodies are encoded before the clock starts, so the client only copies bytes to sockets
//! and the figure is the receiver's. Request `i` goes to endpoint `i mod n`, spreading a
//! cluster's load over its nodes.
//!
//! Order per series: request `i` and request `i + per_round` carry the same series in
//! consecutive rounds, so `i + per_round` is only sent once `i` succeeded. Without that a slow
//! request could land after its successor, which Prometheus refuses as out of order. With 8 in
//! flight and 50 requests per round the rule never stalls the pipeline in practice.
//!
//! Retries follow the remote-write spec: a 5xx, a 429 or a transport error is retried with
//! exponential backoff (on the next endpoint, in case this one is down); any other status is
//! a failure of the run, reported with the receiver's message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use skyview_tests::remote_write_client::RemoteWriteClient;
use tokio::task::JoinSet;

/// What sending every body took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadOutcome {
    /// From the first send to the last success.
    pub elapsed: Duration,
    /// Requests sent, retries excluded.
    pub requests: usize,
    /// Attempts that had to be retried.
    pub retries: u32,
}

/// How the bodies are sent.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// Base URLs (`http://host:port`) of the receiving endpoints.
    pub endpoints: Vec<String>,
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Requests per round: request `i + per_round` waits for request `i`.
    pub per_round: usize,
}

/// Sends every body, in order, per [`LoadPlan`]; fails on the first request that cannot be
/// delivered.
pub async fn send_all(
    client: &RemoteWriteClient,
    bodies: &[Bytes],
    plan: &LoadPlan,
) -> Result<LoadOutcome> {
    if plan.endpoints.is_empty() || plan.in_flight == 0 || plan.per_round == 0 {
        bail!("a load needs endpoints, requests in flight and requests per round");
    }
    let endpoints: Arc<[String]> = plan.endpoints.clone().into();
    let mut done = vec![false; bodies.len()];
    let mut tasks = JoinSet::new();
    let mut next = 0;
    let mut retries = 0;
    let start = Instant::now();
    loop {
        while tasks.len() < plan.in_flight
            && next < bodies.len()
            && (next < plan.per_round || done[next - plan.per_round])
        {
            let (client, endpoints, body) =
                (client.clone(), endpoints.clone(), bodies[next].clone());
            let index = next;
            tasks.spawn(async move {
                (
                    index,
                    client.deliver_with_retries(&endpoints, index, body).await,
                )
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, result) = joined.context("a sending task panicked")?;
        retries += result.with_context(|| format!("request {index}"))?;
        done[index] = true;
    }
    Ok(LoadOutcome {
        elapsed: start.elapsed(),
        requests: bodies.len(),
        retries,
    })
}
