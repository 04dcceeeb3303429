//! `GET|POST /api/v1/series`: the label sets of the series `match[]` selects in
//! `[start, end]` (default: all time), sorted, as `[{"__name__":"up",...},...]`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use skyview_promql::json;

use crate::error::ApiError;
use crate::matchers::parse_matcher_sets;
use crate::params::Params;
use crate::response::Success;
use crate::selection::select_label_sets;
use crate::state::QueryState;
use crate::timestamp::{MAX_TIME_MS, MIN_TIME_MS};

/// The handler.
#[tracing::instrument(skip_all, fields(matchers = params.all("match[]").len()))]
pub async fn series(State(state): State<QueryState>, params: Params) -> Response {
    match run(&state, &params).await {
        Ok(success) => success.into_response(),
        Err(err) => err.into_response(),
    }
}

async fn run(state: &QueryState, params: &Params) -> Result<Success, ApiError> {
    let selectors = params.all("match[]");
    if selectors.is_empty() {
        return Err(ApiError::BadData(
            "no match[] parameter provided".to_string(),
        ));
    }
    let start = params.time_or("start", MIN_TIME_MS)?;
    let end = params.time_or("end", MAX_TIME_MS)?;
    let sets = parse_matcher_sets(&selectors).map_err(|e| ApiError::invalid_param("match[]", e))?;
    let found = select_label_sets(state.queryable(params)?.as_ref(), &sets, start, end).await?;
    let mut data = String::from("[");
    for (i, labels) in found.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_labels(labels, &mut data);
    }
    data.push(']');
    Ok(Success::new(data))
}
