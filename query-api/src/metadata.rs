//! `GET /api/v1/metadata`: metric metadata (type, help, unit) by metric family, from what the
//! tenant's senders sent with their remote writes, as Prometheus 2.42 answers it:
//! `{"<family>":[{"type":..,"help":..,"unit":..},...],...}`, one element per distinct entry.
//!
//! Parameters: `metric` keeps one family; `limit` caps the number of families (a negative
//! limit is no limit, `0` gives `{}`; not a number is `bad_data`). Prometheus walks a Go map,
//! so which families a limit keeps is unspecified there; here they are the first by name.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use skyview_promql::json;

use crate::error::ApiError;
use crate::params::Params;
use crate::response::{string_object, Success};
use crate::state::{MetricMetadata, QueryState};

/// The handler.
pub async fn metadata(State(state): State<QueryState>, params: Params) -> Response {
    let result = async {
        let limit = match params.get("limit") {
            "" => -1,
            s => s
                .parse::<i64>()
                .map_err(|_| ApiError::BadData("limit must be a number".to_string()))?,
        };
        let metric = params.get("metric");
        let mut entries = state.metadata(&params).await?;
        entries.retain(|e| metric.is_empty() || e.family == metric);
        entries.sort();
        entries.dedup();
        Ok::<_, ApiError>(Success::new(encode(&entries, limit)))
    }
    .await;
    match result {
        Ok(success) => success.into_response(),
        Err(err) => err.into_response(),
    }
}

/// Sorted, distinct `entries` as the metadata object, keeping at most `limit` families when
/// `limit` is not negative.
fn encode(entries: &[MetricMetadata], limit: i64) -> String {
    let mut out = String::from("{");
    let mut families = 0i64;
    let mut current: Option<&str> = None;
    for entry in entries {
        if current != Some(entry.family.as_str()) {
            if limit >= 0 && families >= limit {
                break;
            }
            if current.is_some() {
                out.push_str("],");
            }
            json::write_string(&entry.family, &mut out);
            out.push_str(":[");
            current = Some(&entry.family);
            families += 1;
        } else {
            out.push(',');
        }
        out.push_str(&string_object([
            ("type", entry.kind.as_str()),
            ("help", entry.help.as_str()),
            ("unit", entry.unit.as_str()),
        ]));
    }
    if current.is_some() {
        out.push(']');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(family: &str, kind: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            family: family.into(),
            kind: kind.into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn families_group_their_entries_and_limit_counts_families() {
        let entries = [
            entry("a_total", "counter", "A."),
            entry("a_total", "counter", "A \"quoted\"."),
            entry("b", "gauge", "B."),
        ];
        let mut sorted = entries.to_vec();
        sorted.sort();
        assert_eq!(
            encode(&sorted, -1),
            r#"{"a_total":[{"type":"counter","help":"A \"quoted\".","unit":""},{"type":"counter","help":"A.","unit":""}],"b":[{"type":"gauge","help":"B.","unit":""}]}"#
        );
        assert_eq!(encode(&sorted, 0), "{}");
        assert_eq!(encode(&sorted, 1).matches("\"type\"").count(), 2);
        assert_eq!(encode(&[], -1), "{}");
    }
}
