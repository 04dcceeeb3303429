//! `GET /federate?match[]=...`: the latest sample of every selected series, in text format
//! 0.0.4 (see [`crate::exposition`]), as Prometheus 2.42's federation handler writes it.
//!
//! For each series selected by any `match[]` in `[now - lookback_delta, now]`, the last sample
//! is written unless it is a staleness marker. Samples are ordered by metric name (then by
//! labels, where Prometheus's unstable sort leaves the order open); a `# TYPE <name> untyped`
//! line starts each name. Each line carries the series' labels (sorted, without `__name__`)
//! followed by the external labels it lacks, sorted by name, where `instance` is always an
//! external label (`instance=""` when not configured), exactly as Prometheus appends them.
//! Series without a metric name are skipped. No `match[]` gives an empty answer.
//!
//! Errors are plain text, as Go's `http.Error`: a bad selector is 400, a storage failure 500.
//! Only the text format is served; Prometheus's protobuf negotiation is not implemented.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use skyview_promql::{is_stale_nan, Labels, Sample, METRIC_NAME};

use crate::exposition::{self, write_sample, write_type_line};
use crate::matchers::parse_selector;
use crate::params::Params;
use crate::state::QueryState;

/// The handler.
#[tracing::instrument(skip_all, fields(matchers = params.all("match[]").len()))]
pub async fn federate(State(state): State<QueryState>, params: Params) -> Response {
    match run(&state, &params).await {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(exposition::CONTENT_TYPE),
            );
            response
        }
        Err((status, message)) => {
            let mut response = (status, format!("{message}\n")).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
    }
}

async fn run(state: &QueryState, params: &Params) -> Result<String, (StatusCode, String)> {
    let sets = params
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let maxt = state.now_ms();
    let lookback =
        i64::try_from(state.config().engine.lookback_delta.as_millis()).unwrap_or(i64::MAX);
    let mint = maxt.saturating_sub(lookback);
    let queryable = state
        .queryable(params)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let mut latest: BTreeMap<Labels, Sample> = BTreeMap::new();
    for matchers in &sets {
        let series = queryable
            .select(matchers, mint, maxt)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        for s in series {
            let Some(last) = s.samples.iter().rev().find(|x| x.t <= maxt).copied() else {
                continue;
            };
            latest
                .entry(s.labels)
                .and_modify(|prev| {
                    if last.t > prev.t {
                        *prev = last;
                    }
                })
                .or_insert(last);
        }
    }
    let mut samples: Vec<(&str, &Labels, Sample)> = latest
        .iter()
        .filter(|(_, sample)| !is_stale_nan(sample.v))
        .filter_map(|(labels, sample)| Some((labels.get(METRIC_NAME)?, labels, *sample)))
        .collect();
    samples.sort_by(|a, b| a.0.cmp(b.0));
    Ok(encode(
        &samples,
        &external_labels(&state.config().external_labels),
    ))
}

/// The external labels, with `instance` added as `""` when absent, sorted by name.
fn external_labels(configured: &Labels) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = configured
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect();
    if !out.iter().any(|(k, _)| k == "instance") {
        out.push(("instance".to_string(), String::new()));
    }
    out.sort();
    out
}

fn encode(samples: &[(&str, &Labels, Sample)], external: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (name, labels, sample) in samples {
        if last_name != Some(*name) {
            write_type_line(name, &mut out);
            last_name = Some(name);
        }
        let own = labels
            .iter()
            .filter(|l| &*l.name != METRIC_NAME)
            .map(|l| (&*l.name, &*l.value));
        let added = external
            .iter()
            .filter(|(k, _)| !labels.has(k))
            .map(|(k, v)| (k.as_str(), v.as_str()));
        write_sample(name, own.chain(added), sample.v, sample.t, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_labels_always_include_instance() {
        let ext = external_labels(&Labels::from_pairs([("cluster", "eu")]));
        assert_eq!(
            ext,
            vec![
                ("cluster".to_string(), "eu".to_string()),
                ("instance".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn encodes_families_and_appends_external_labels() {
        let a = Labels::from_pairs([("__name__", "a"), ("job", "x"), ("instance", "i")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let ext = external_labels(&Labels::from_pairs([("cluster", "eu")]));
        let samples = vec![
            ("a", &a, Sample { t: 1, v: 1.0 }),
            ("b", &b, Sample { t: 2, v: 1e6 }),
        ];
        assert_eq!(
            encode(&samples, &ext),
            "# TYPE a untyped\na{instance=\"i\",job=\"x\",cluster=\"eu\"} 1 1\n\
             # TYPE b untyped\nb{cluster=\"eu\",instance=\"\"} 1e+06 2\n"
        );
    }
}
