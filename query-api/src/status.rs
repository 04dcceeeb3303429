//! `GET /api/v1/status/buildinfo`, `/api/v1/status/runtimeinfo` and `/api/v1/status/flags`,
//! with Prometheus 2.42's field names. Skyview's answers for Go-only fields:
//! `goroutineCount` is the number of live tokio tasks, `GOMAXPROCS` the available parallelism,
//! `GOGC` and `GODEBUG` are empty, `corruptionCount` is 0, and `lastConfigTime` is the start time
//! with `reloadConfigSuccess` true (no reloadable configuration is served here yet).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use skyview_promql::json;

use crate::response::{string_object, Success};
use crate::state::QueryState;
use crate::timestamp::format_rfc3339;

/// `/api/v1/status/buildinfo`.
pub async fn build_info(State(state): State<QueryState>) -> Response {
    let b = &state.config().build_info;
    Success::new(string_object([
        ("version", b.version.as_str()),
        ("revision", b.revision.as_str()),
        ("branch", b.branch.as_str()),
        ("buildUser", b.build_user.as_str()),
        ("buildDate", b.build_date.as_str()),
        ("goVersion", b.go_version.as_str()),
    ]))
    .into_response()
}

/// `/api/v1/status/runtimeinfo`.
pub async fn runtime_info(State(state): State<QueryState>) -> Response {
    let start = format_rfc3339(state.start_time_ms);
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let tasks = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_alive_tasks())
        .unwrap_or(0);
    let procs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut data = String::from("{\"startTime\":");
    json::write_string(&start, &mut data);
    data.push_str(",\"CWD\":");
    json::write_string(&cwd, &mut data);
    data.push_str(",\"reloadConfigSuccess\":true,\"lastConfigTime\":");
    json::write_string(&start, &mut data);
    data.push_str(&format!(
        ",\"corruptionCount\":0,\"goroutineCount\":{tasks},\"GOMAXPROCS\":{procs},\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":"
    ));
    json::write_string(&state.config().storage_retention, &mut data);
    data.push('}');
    Success::new(data).into_response()
}

/// `/api/v1/status/flags`: the configured flags, keys sorted (as Go's JSON map encoding).
pub async fn flags(State(state): State<QueryState>) -> Response {
    let flags = &state.config().flags;
    Success::new(string_object(
        flags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
    .into_response()
}
