//! The receiver's HTTP surface: remote write in, cluster status and admin, the agents'
//! committed marks, a select read path, self-metrics and health, and the peers' internal RPCs.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /api/v1/write` | Prometheus remote write 1.0 ([`write`]) |
//! | `POST /api/v1/read` | Prometheus remote read, SAMPLES ([`read`]) |
//! | `GET /api/v1/status/cluster` | members, meta group, shards ([`cluster`]) |
//! | `GET /api/v1/agents/{agent}/queues/{queue}/committed` | an agent queue's committed mark ([`agents`]) |
//! | `GET /api/v1/internal/select` | samples of matching series as a matrix ([`select`]) |
//! | `/api/v1/query`, `query_range`, `series`, `labels`, ..., `/federate` | the Prometheus query API (`skyview-query-api`) over the whole cluster ([`query_source`]) |
//! | `POST /api/v1/admin/nodes/{id}/remove` | take a node out of the cluster ([`cluster`]) |
//! | `GET /metrics` | `skyview_receiver_*` self-metrics ([`metrics`]) |
//! | `GET /-/healthy`, `GET /-/ready` | liveness, readiness ([`health`]) |
//! | `POST /internal/{*path}` | peer RPCs, handed to the node ([`internal`]) |
//!
//! Handlers are thin: they parse and validate, call [`Node`], and map its errors to HTTP in one
//! place ([`error::ApiError`]). The node owns replication, forwarding and durability.

pub mod agents;
pub mod body;
pub mod cluster;
pub mod error;
pub mod health;
pub mod internal;
pub mod limits;
pub mod matrix;
pub mod metadata;
pub mod metrics;
pub mod query_source;
pub mod read;
#[cfg(test)]
mod router_tests;
pub mod select;
pub mod split;
pub mod tenant;
pub mod validate;
pub mod write;

use std::future::Future;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use skyview_query_api::QueryState;
use skyview_raft::node::Node;
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use limits::ReceiverLimits;
pub use metrics::ReceiverMetrics;
pub use skyview_query_api::{BuildInfo, CorsOrigin, QueryConfig};

/// The remote-write route (also the one whose latency is measured).
pub const WRITE_PATH: &str = "/api/v1/write";

/// What every handler shares; cloned per request.
#[derive(Debug, Clone)]
pub struct ReceiverState {
    pub node: Arc<Node>,
    pub limits: Arc<ReceiverLimits>,
    pub metrics: Arc<ReceiverMetrics>,
    /// Remote reads in flight (`limits.remote_read_concurrency` permits).
    pub read_slots: Arc<Semaphore>,
}

impl FromRef<ReceiverState> for Arc<ReceiverMetrics> {
    fn from_ref(state: &ReceiverState) -> Self {
        state.metrics.clone()
    }
}

/// The receiver's router for `node`, with the query API configured by `query`.
pub fn router(node: Arc<Node>, limits: ReceiverLimits, query: QueryConfig) -> Router {
    let cors_origin = query.cors_origin.clone();
    let source = query_source::ClusterQuerySource::new(Arc::clone(&node));
    let query_api = skyview_query_api::router(QueryState::with_source(Arc::new(source), query));
    let read_slots = match limits.remote_read_concurrency {
        0 => Semaphore::MAX_PERMITS,
        n => n,
    };
    let state = ReceiverState {
        node,
        limits: Arc::new(limits),
        metrics: Arc::new(ReceiverMetrics::new()),
        read_slots: Arc::new(Semaphore::new(read_slots)),
    };
    Router::new()
        .route(WRITE_PATH, post(write::write))
        .route("/api/v1/read", post(read::read))
        .route("/api/v1/status/cluster", get(cluster::status))
        .route(
            "/api/v1/agents/{agent}/queues/{queue}/committed",
            get(agents::committed),
        )
        .route("/api/v1/internal/select", get(select::select))
        .route(
            "/api/v1/admin/nodes/{id}/remove",
            post(cluster::remove_node),
        )
        .route("/metrics", get(metrics::serve_metrics))
        .route("/-/healthy", get(health::healthy).head(health::healthy))
        .route("/-/ready", get(health::ready).head(health::ready))
        .route("/internal/{*path}", post(internal::internal))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .with_state(state)
        .merge(query_api)
        .layer(axum::middleware::from_fn_with_state(
            cors_origin,
            skyview_query_api::cors_headers,
        ))
}

/// Serves the receiver on `listener` until `shutdown` resolves, then finishes the requests in
/// flight. The node itself is not shut down: its owner does that after this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    node: Arc<Node>,
    limits: ReceiverLimits,
    query: QueryConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(node, limits, query))
        .with_graceful_shutdown(shutdown)
        .await
}
