//! `POST /internal/{*path}`: the peers' RPCs (Raft append/vote/snapshot, forwarded writes and
//! reads, joins, meta proposals), handed to the node verbatim. The body format is the node's
//! business (postcard); this route only bounds the body size and maps transport errors.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::body::read_limited;
use super::error::ApiError;
use super::ReceiverState;

/// The pass-through handler.
pub async fn internal(
    State(state): State<ReceiverState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_limited(&headers, body, state.limits.max_internal_body_bytes).await?;
    let reply = state.node.handle_internal(&path, body).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], reply).into_response())
}
