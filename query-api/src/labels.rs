//! `GET|POST /api/v1/labels` and `GET /api/v1/label/<name>/values`: label names, or one label's
//! values, over the series `match[]` selects in `[start, end]` (default: all time; without
//! `match[]`, every named series: see [`crate::selection`] for the cost). Sorted, as
//! Prometheus sorts them.
//!
//! Deviation: without `match[]`, Prometheus's TSDB answers from whole blocks overlapping the
//! range, so it may list names of series with no sample in the range; this lists only series
//! with a sample in it.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::matchers::{all_series, parse_matcher_sets};
use crate::params::Params;
use crate::response::{string_array, Success};
use crate::selection::select_label_sets;
use crate::state::QueryState;
use crate::timestamp::{MAX_TIME_MS, MIN_TIME_MS};
use skyview_promql::go_quote;

/// `/api/v1/labels`.
#[tracing::instrument(skip_all, fields(matchers = params.all("match[]").len()))]
pub async fn label_names(State(state): State<QueryState>, params: Params) -> Response {
    let result = async {
        let label_sets = select(&state, &params).await?;
        let names: BTreeSet<&str> = label_sets
            .iter()
            .flat_map(|labels| labels.iter().map(|l| &*l.name))
            .collect();
        Ok::<_, ApiError>(Success::new(string_array(names)))
    }
    .await;
    match result {
        Ok(success) => success.into_response(),
        Err(err) => err.into_response(),
    }
}

/// `/api/v1/label/<name>/values`.
#[tracing::instrument(skip_all, fields(label = %name))]
pub async fn label_values(
    State(state): State<QueryState>,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    let result = async {
        if !is_valid_label_name(&name) {
            return Err(ApiError::BadData(format!(
                "invalid label name: {}",
                go_quote(&name)
            )));
        }
        let label_sets = select(&state, &params).await?;
        let values: BTreeSet<&str> = label_sets
            .iter()
            .filter_map(|labels| labels.get(&name))
            .collect();
        Ok(Success::new(string_array(values)))
    }
    .await;
    match result {
        Ok(success) => success.into_response(),
        Err(err) => err.into_response(),
    }
}

/// `start`, `end` and `match[]` (errors unwrapped, as Prometheus reports them here), then the
/// selection.
async fn select(
    state: &QueryState,
    params: &Params,
) -> Result<BTreeSet<skyview_promql::Labels>, ApiError> {
    let start = params.time_or("start", MIN_TIME_MS)?;
    let end = params.time_or("end", MAX_TIME_MS)?;
    let selectors = params.all("match[]");
    let sets = if selectors.is_empty() {
        vec![all_series()]
    } else {
        parse_matcher_sets(&selectors).map_err(ApiError::BadData)?
    };
    select_label_sets(state.queryable(params)?.as_ref(), &sets, start, end).await
}

/// Prometheus's `model.LabelNameRE`: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_name_rule() {
        assert!(is_valid_label_name("__name__"));
        assert!(is_valid_label_name("job_2"));
        assert!(!is_valid_label_name("2job"));
        assert!(!is_valid_label_name(""));
        assert!(!is_valid_label_name("a-b"));
    }
}
