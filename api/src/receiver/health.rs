//! `/-/healthy` (the process answers) and `/-/ready` (it can take writes: the meta group and
//! every shard have a leader), as Prometheus names them, for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::ReceiverState;

pub async fn healthy() -> &'static str {
    "Skyview receiver is Healthy.\n"
}

pub async fn ready(State(state): State<ReceiverState>) -> Response {
    if state.node.is_ready() {
        "Skyview receiver is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}
