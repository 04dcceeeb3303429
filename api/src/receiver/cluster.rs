//! The cluster's admin surface: `GET /api/v1/status/cluster` (what `skyview ctl status`
//! prints) and `POST /api/v1/admin/nodes/{id}/remove` (`skyview ctl remove-node`).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use skyview_raft::type_config::NodeId;

use super::error::ApiError;
use super::ReceiverState;

/// `{"status":"success","data":<ClusterStatus>}`.
#[tracing::instrument(skip_all)]
pub async fn status(State(state): State<ReceiverState>) -> Result<Json<Value>, ApiError> {
    let status = state.node.status().await?;
    Ok(Json(json!({"status": "success", "data": status})))
}

/// Marks a node as leaving; the meta leader then moves its replicas and takes it out of the
/// cluster (the reply does not wait for that).
#[tracing::instrument(skip_all)]
pub async fn remove_node(
    State(state): State<ReceiverState>,
    Path(id): Path<NodeId>,
) -> Result<Json<Value>, ApiError> {
    state.node.remove_node(id).await?;
    tracing::info!(node = id, "node removal accepted");
    Ok(Json(json!({"status": "success", "data": {"removed": id}})))
}
