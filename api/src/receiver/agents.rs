//! `GET /api/v1/agents/{agent}/queues/{queue}/committed`: the highest WAL position of an
//! agent's queue the cluster has committed, so a restarted agent resumes right after it
//! (neither skipping nor resending). The mark may lag behind the truth, never run ahead of it:
//! whatever it misses is deduplicated on resend.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::ReceiverState;
use crate::remote_write::batch_id::validate_agent_id;

/// `{"status":"success","data":{"agent":..,"queue":..,"committed":<u64 or null>}}`.
#[tracing::instrument(skip_all)]
pub async fn committed(
    State(state): State<ReceiverState>,
    Path((agent, queue)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    validate_agent_id(&agent).map_err(|e| ApiError::BadQuery(e.to_string()))?;
    let queue: u32 = queue
        .parse()
        .map_err(|_| ApiError::BadQuery(format!("queue {queue:?}: must be a decimal u32")))?;
    let committed = state.node.committed(&agent, queue).await?;
    Ok(Json(json!({
        "status": "success",
        "data": {"agent": agent, "queue": queue, "committed": committed},
    })))
}
