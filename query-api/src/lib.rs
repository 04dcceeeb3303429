//! Prometheus 2.42's HTTP query API over a [`skyview_promql::Queryable`].
//!
//! This crate owns the HTTP surface Grafana and other Prometheus clients read through: the
//! paths, parameters (GET query strings and form-encoded POST bodies), parameter parsing and its
//! error texts, the JSON envelopes, `errorType`s and status codes, the `--query.*` limits, and
//! `/federate`'s text format. Evaluation belongs to `skyview-promql`; where the series come from
//! (shards, replicas, read indexes) belongs to whoever implements `Queryable`. This crate knows
//! nothing of storage, Raft or the cluster.
//!
//! Routes ([`router`]):
//!
//! | Path | Methods |
//! |---|---|
//! | `/api/v1/query`, `/api/v1/query_range` | GET, POST |
//! | `/api/v1/series`, `/api/v1/labels` | GET, POST |
//! | `/api/v1/label/{name}/values` | GET |
//! | `/api/v1/query_exemplars` | GET, POST |
//! | `/api/v1/metadata`, `/api/v1/status/{buildinfo,runtimeinfo,flags}` | GET |
//! | `/federate` | GET |
//!
//! The methods are Prometheus 2.42's; any other method gets 405. Errors are
//! `{"status":"error","errorType":"...","error":"..."}` with 400 (`bad_data`), 422
//! (`execution`), 503 (`timeout`) or 500 (`internal`). Responses are gzip-compressed when the
//! client accepts it, as Prometheus's are (Grafana asks for it). CORS headers and preflights
//! ([`cors_headers`]) are a middleware the server layers over its whole router, since
//! preflights may name paths this crate does not serve.

mod cors;
mod duration;
mod error;
mod exemplars;
mod exposition;
mod federate;
mod labels;
mod matchers;
mod metadata;
mod params;
mod query;
mod response;
mod selection;
mod series;
mod state;
mod stats;
mod status;
mod timestamp;

#[cfg(test)]
mod tests;

use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

pub use cors::{cors_headers, CorsOrigin};
pub use error::ApiError;
pub use state::{
    BuildInfo, Clock, MetricMetadata, QueryConfig, QuerySource, QueryState, TENANT_HEADER,
};

/// The query API's routes, ready to be merged into a server's router.
pub fn router(state: QueryState) -> Router {
    Router::new()
        .route(
            "/api/v1/query",
            get(query::instant_query).post(query::instant_query),
        )
        .route(
            "/api/v1/query_range",
            get(query::range_query).post(query::range_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(exemplars::query_exemplars).post(exemplars::query_exemplars),
        )
        .route("/api/v1/series", get(series::series).post(series::series))
        .route(
            "/api/v1/labels",
            get(labels::label_names).post(labels::label_names),
        )
        .route("/api/v1/label/{name}/values", get(labels::label_values))
        .route("/api/v1/metadata", get(metadata::metadata))
        .route("/api/v1/status/buildinfo", get(status::build_info))
        .route("/api/v1/status/runtimeinfo", get(status::runtime_info))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/federate", get(federate::federate))
        .layer(CompressionLayer::new())
        .with_state(state)
}
