//! `GET /api/v1/internal/select?match[]=<selector>&start=<ms>&end=<ms>`: every sample of the
//! series matching any of the selectors, read from every shard with linearizable reads, as a
//! Prometheus matrix.
//!
//! It is the read path tests and benchmarks check stored data with (exact sample counts, read
//! your writes) until the PromQL API lands; it takes `start`/`end` in milliseconds (inclusive,
//! both optional) because that is what remote write stores. Selectors are PromQL series
//! selectors (`up{job=~"n.*"}`, including `or` groups), parsed by `promql-parser`, the parser
//! the query engine will use. The tenant is the `X-Scope-OrgID` header's, as for writes.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures::future::try_join_all;
use promql_parser::label::{MatchOp as PromMatchOp, Matcher as PromMatcher};
use promql_parser::parser::{self, Expr};
use skyview_raft::write_batch::SeriesSamples;
use skyview_storage::tsdb::{MatchOp, Matcher};

use super::error::ApiError;
use super::matrix::matrix_response;
use super::tenant::tenant_of;
use super::validate::METRIC_NAME_LABEL;
use super::ReceiverState;

/// The parsed query: a list of alternatives (matcher sets, any of which selects a series) and
/// the time range.
#[derive(Debug)]
pub struct SelectQuery {
    pub matcher_sets: Vec<Vec<Matcher>>,
    pub min_t: i64,
    pub max_t: i64,
}

/// The handler.
#[tracing::instrument(skip_all)]
pub async fn select(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let tenant = tenant_of(&headers)?;
    let query = parse_query(query.as_deref().unwrap_or(""))?;
    let (node, tenant, query) = (&state.node, tenant.as_str(), &query);
    let reads = (1..=node.shards()).flat_map(|shard| {
        query
            .matcher_sets
            .iter()
            .map(move |set| node.select(shard, tenant, set, query.min_t, query.max_t))
    });
    let results = try_join_all(reads).await?;
    let body = matrix_response(&merge(results));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Parses `match[]`, `start` and `end` from a query string.
pub fn parse_query(query: &str) -> Result<SelectQuery, ApiError> {
    let mut matcher_sets = Vec::new();
    let mut min_t = i64::MIN;
    let mut max_t = i64::MAX;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "match[]" => matcher_sets.extend(parse_selector(&value)?),
            "start" => min_t = parse_ms("start", &value)?,
            "end" => max_t = parse_ms("end", &value)?,
            _ => {}
        }
    }
    if matcher_sets.is_empty() {
        return Err(ApiError::BadQuery("no match[] parameter provided".into()));
    }
    if min_t > max_t {
        return Err(ApiError::BadQuery(format!(
            "end timestamp {max_t} must not be before start time {min_t}"
        )));
    }
    Ok(SelectQuery {
        matcher_sets,
        min_t,
        max_t,
    })
}

/// A series selector as one or several matcher sets (several with `or`).
pub fn parse_selector(selector: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let bad = |reason: String| ApiError::BadQuery(format!("match[] {selector:?}: {reason}"));
    let Expr::VectorSelector(vs) = parser::parse(selector).map_err(bad)? else {
        return Err(bad("not a series selector".into()));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(bad("offset and @ modifiers are not allowed here".into()));
    }
    let groups = if vs.matchers.or_matchers.is_empty() {
        vec![vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers
    };
    groups
        .into_iter()
        .map(|group| {
            let name = vs
                .name
                .as_deref()
                .map(|name| Matcher::new(MatchOp::Equal, METRIC_NAME_LABEL, name));
            name.into_iter()
                .chain(group.iter().map(convert))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// A PromQL matcher as the TSDB's (its regex compiled, fully anchored).
pub(super) fn convert(m: &PromMatcher) -> Result<Matcher, skyview_storage::tsdb::StorageError> {
    let op = match m.op {
        PromMatchOp::Equal => MatchOp::Equal,
        PromMatchOp::NotEqual => MatchOp::NotEqual,
        PromMatchOp::Re(_) => MatchOp::Regex,
        PromMatchOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(op, &m.name, &m.value)
}

fn parse_ms(name: &str, value: &str) -> Result<i64, ApiError> {
    value.parse().map_err(|_| {
        ApiError::BadQuery(format!(
            "invalid {name} {value:?}: must be an integer (Unix milliseconds)"
        ))
    })
}

/// The shards' answers merged: each series once (a series matched by several selectors comes
/// back from each), sorted by labels.
fn merge(results: Vec<Vec<SeriesSamples>>) -> Vec<SeriesSamples> {
    let mut by_labels = BTreeMap::new();
    for series in results.into_iter().flatten() {
        by_labels.entry(series.labels.clone()).or_insert(series);
    }
    by_labels.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyview_raft::write_batch::Sample;

    fn describe(sets: &[Vec<Matcher>]) -> Vec<Vec<(String, MatchOp, String)>> {
        sets.iter()
            .map(|set| {
                set.iter()
                    .map(|m| (m.name().to_owned(), m.op(), m.value().to_owned()))
                    .collect()
            })
            .collect()
    }

    fn m(name: &str, op: MatchOp, value: &str) -> (String, MatchOp, String) {
        (name.into(), op, value.into())
    }

    #[test]
    fn parses_selectors_into_matchers() {
        let sets = parse_selector(r#"up{job=~"no.e",instance!="a",x!~"b"}"#).unwrap();
        assert_eq!(
            describe(&sets),
            [vec![
                m("__name__", MatchOp::Equal, "up"),
                m("job", MatchOp::Regex, "no.e"),
                m("instance", MatchOp::NotEqual, "a"),
                m("x", MatchOp::NotRegex, "b"),
            ]]
        );
        let sets = parse_selector(r#"{job="a" or job="b"}"#).unwrap();
        assert_eq!(
            describe(&sets),
            [
                vec![m("job", MatchOp::Equal, "a")],
                vec![m("job", MatchOp::Equal, "b")]
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_series_selector() {
        for bad in [
            "rate(up[5m])",
            "up[5m]",
            "1",
            "up offset 5m",
            "{job=~\".*\"}",
            "up{",
        ] {
            assert!(
                matches!(parse_selector(bad), Err(ApiError::BadQuery(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_the_query_string() {
        let q = parse_query("match[]=up&match[]=%7Bjob%3D%22x%22%7D&start=-5&end=10").unwrap();
        assert_eq!(q.matcher_sets.len(), 2);
        assert_eq!((q.min_t, q.max_t), (-5, 10));
        let q = parse_query("match[]=up").unwrap();
        assert_eq!((q.min_t, q.max_t), (i64::MIN, i64::MAX));
        for bad in [
            "",
            "start=1",
            "match[]=up&start=x",
            "match[]=up&start=5&end=4",
        ] {
            assert!(
                matches!(parse_query(bad), Err(ApiError::BadQuery(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn merges_series_once_sorted_by_labels() {
        let series = |job: &str, t| SeriesSamples {
            labels: vec![("job".into(), job.into())],
            samples: vec![Sample {
                timestamp_ms: t,
                value: 1.0,
            }],
        };
        let merged = merge(vec![
            vec![series("b", 1)],
            vec![series("a", 2), series("b", 1)],
        ]);
        assert_eq!(merged, [series("a", 2), series("b", 1)]);
    }
}
