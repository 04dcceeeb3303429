//! The agent's HTTP surface, in Prometheus's shapes so existing tooling works unchanged:
//! `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`, `/api/v1/targets` and
//! `/api/v1/status/config`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::Addr;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::supervisor::{GetConfigYaml, GetTargets, Reload, Supervisor};
use crate::metrics::AgentMetrics;

/// What the handlers need. Cloned per request; everything in it is shared.
#[derive(Clone, Debug)]
pub struct HttpState {
    pub metrics: Arc<AgentMetrics>,
    pub supervisor: Addr<Supervisor>,
    /// Set once the WAL has replayed and every component has started.
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/api/v1/targets", get(targets))
        .route("/api/v1/status/config", get(config))
        .with_state(state)
}

async fn metrics(State(s): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn healthy() -> &'static str {
    "Skyview agent is Healthy.\n"
}

async fn ready(State(s): State<HttpState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        "Skyview agent is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

/// Prometheus answers a failed reload with 500 and the error text; so do we.
async fn reload(State(s): State<HttpState>) -> Response {
    match s.supervisor.send(Reload).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => unavailable(e),
    }
}

async fn targets(State(s): State<HttpState>) -> Response {
    match s.supervisor.send(GetTargets).await {
        Ok(data) => Json(json!({"status": "success", "data": data})).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn config(State(s): State<HttpState>) -> Response {
    match s.supervisor.send(GetConfigYaml).await {
        Ok(yaml) => Json(json!({"status": "success", "data": {"yaml": yaml}})).into_response(),
        Err(e) => unavailable(e),
    }
}

fn unavailable(e: actix::MailboxError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "error", "errorType": "unavailable", "error": e.to_string()})),
    )
        .into_response()
}
