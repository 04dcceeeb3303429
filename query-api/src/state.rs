//! What the handlers share: the data source, the engine's limits, the concurrency gate, and
//! the facts the status endpoints report.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use skyview_promql::{EngineOptions, Labels, Queryable};
use tokio::sync::Semaphore;

use crate::cors::CorsOrigin;
use crate::error::ApiError;
use crate::params::Params;

/// The current time in milliseconds since the epoch; replaceable for tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// `/api/v1/status/buildinfo`'s fields (Prometheus's names are the JSON keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// `version`. Grafana reads it to guess which Prometheus features exist; a Skyview version
    /// that is not semver makes Grafana fall back to its defaults.
    pub version: String,
    /// `revision`: the source control revision.
    pub revision: String,
    /// `branch`.
    pub branch: String,
    /// `buildUser`.
    pub build_user: String,
    /// `buildDate`.
    pub build_date: String,
    /// `goVersion`: Skyview has no Go; it reports its Rust toolchain here.
    pub go_version: String,
}

impl BuildInfo {
    /// Build info for `version`, with the other fields set to Skyview's placeholders.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            revision: "unknown".to_string(),
            branch: "unknown".to_string(),
            build_user: "skyview".to_string(),
            build_date: "unknown".to_string(),
            go_version: "none (Skyview is built with Rust)".to_string(),
        }
    }
}

/// How the query API is configured.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Engine limits: `--query.timeout` (`timeout`), `--query.max-samples` (`max_samples`),
    /// `--query.lookback-delta` (`lookback_delta`, also federation's window).
    pub engine: EngineOptions,
    /// `--query.max-concurrency`: queries evaluated at once; more wait in a queue until their
    /// timeout (Prometheus's default is 20).
    pub max_concurrency: usize,
    /// What `/api/v1/status/buildinfo` reports.
    pub build_info: BuildInfo,
    /// What `/api/v1/status/flags` reports: flag name (without `--`) to value.
    pub flags: BTreeMap<String, String>,
    /// Labels `/federate` adds to series that lack them (Prometheus's `external_labels`).
    pub external_labels: Labels,
    /// `storageRetention` in `/api/v1/status/runtimeinfo`, e.g. `15d`.
    pub storage_retention: String,
    /// `--web.cors.origin`: the origins [`crate::cors_headers`] lets browsers read from.
    pub cors_origin: CorsOrigin,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            engine: EngineOptions::default(),
            max_concurrency: 20,
            build_info: BuildInfo::new(env!("CARGO_PKG_VERSION")),
            flags: BTreeMap::new(),
            external_labels: Labels::empty(),
            storage_retention: "unlimited".to_string(),
            cors_origin: CorsOrigin::Any,
        }
    }
}

/// The header naming a request's tenant (Cortex and Mimir's).
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// One metric family's metadata, as `/api/v1/metadata` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricMetadata {
    /// The metric family name.
    pub family: String,
    /// Prometheus's lower-case type name (`counter`, `gauge`, `histogram`, ...).
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Where a request's series come from: the data of its tenant.
pub trait QuerySource: Send + Sync {
    /// The data the request with the raw `X-Scope-OrgID` header `tenant` (`None` without the
    /// header) may read, or why the header is refused (a `bad_data` error).
    fn queryable(&self, tenant: Option<&str>) -> Result<Arc<dyn Queryable>, String>;

    /// The metric metadata that tenant's senders sent, or why the header is refused. A source
    /// without metadata has none.
    fn metadata<'a>(
        &'a self,
        _tenant: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<MetricMetadata>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// One data set for every request, whatever its tenant header.
struct Shared(Arc<dyn Queryable>);

impl QuerySource for Shared {
    fn queryable(&self, _tenant: Option<&str>) -> Result<Arc<dyn Queryable>, String> {
        Ok(Arc::clone(&self.0))
    }
}

/// The router's state; cloning is cheap (reference counts).
#[derive(Clone)]
pub struct QueryState {
    source: Arc<dyn QuerySource>,
    pub(crate) config: Arc<QueryConfig>,
    pub(crate) gate: Arc<Semaphore>,
    pub(crate) start_time_ms: i64,
    pub(crate) clock: Clock,
}

impl QueryState {
    /// State over `queryable` for every tenant, with `config`; the start time reported by
    /// `runtimeinfo` is now.
    pub fn new(queryable: Arc<dyn Queryable>, config: QueryConfig) -> Self {
        Self::with_source(Arc::new(Shared(queryable)), config)
    }

    /// State reading each request's tenant from `source`.
    pub fn with_source(source: Arc<dyn QuerySource>, config: QueryConfig) -> Self {
        let clock: Clock = Arc::new(system_now_ms);
        Self {
            source,
            gate: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config: Arc::new(config),
            start_time_ms: clock(),
            clock,
        }
    }

    /// Replaces the wall clock (missing `time` parameters, `/federate`'s window, the start
    /// time), for tests.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.start_time_ms = clock();
        self.clock = clock;
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    /// The data the request with `params` may read.
    pub(crate) fn queryable(&self, params: &Params) -> Result<Arc<dyn Queryable>, ApiError> {
        self.source
            .queryable(params.tenant())
            .map_err(ApiError::BadData)
    }

    /// The metric metadata the request with `params` may read.
    pub(crate) async fn metadata(&self, params: &Params) -> Result<Vec<MetricMetadata>, ApiError> {
        self.source
            .metadata(params.tenant())
            .await
            .map_err(ApiError::BadData)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.clock)()
    }
}

impl fmt::Debug for QueryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryState")
            .field("config", &self.config)
            .field("available_permits", &self.gate.available_permits())
            .field("start_time_ms", &self.start_time_ms)
            .finish_non_exhaustive()
    }
}

fn system_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_promql::MemoryQueryable;

    #[test]
    fn clock_and_gate() {
        let state = QueryState::new(
            Arc::new(MemoryQueryable::new()),
            QueryConfig {
                max_concurrency: 3,
                ..QueryConfig::default()
            },
        )
        .with_clock(Arc::new(|| 42));
        assert_eq!(state.now_ms(), 42);
        assert_eq!(state.start_time_ms, 42);
        assert_eq!(state.gate.available_permits(), 3);
        assert!(format!("{state:?}").contains("QueryState"));
    }
}
