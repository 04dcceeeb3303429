//! The `match[]` parameter: series selectors such as `up{job="api"}` turned into the label
//! matchers [`skyview_promql::Queryable::select`] takes, with Prometheus's checks.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr};
use skyview_promql::METRIC_NAME;

/// Prometheus's error for a selector that would select every series.
const NO_NON_EMPTY_MATCHER: &str = "match[] must contain at least one non-empty matcher";

/// Parses every `match[]` value into one set of matchers each. Errors are the parser's
/// message, or Prometheus's `match[] must contain at least one non-empty matcher` for a set
/// that would select every series (`{job=~".*"}`).
pub fn parse_matcher_sets(values: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let sets = values
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<Vec<_>, _>>()?;
    for set in &sets {
        if set.iter().all(|m| m.is_match("")) {
            return Err(NO_NON_EMPTY_MATCHER.to_string());
        }
    }
    Ok(sets)
}

/// Parses one series selector: a metric name and/or `{...}` matchers, nothing else (no range,
/// `offset` or `@`, no 3.x `or` between matchers).
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    let expr = parser::parse(s).map_err(|e| {
        if e.contains("at least one non-empty matcher") {
            // `promql-parser` rejects `{job=~".*"}` itself; Prometheus's API says this.
            NO_NON_EMPTY_MATCHER.to_string()
        } else {
            format!("parse error: {e}")
        }
    })?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "parse error: {s:?} is not a series selector (expected a metric name and/or label matchers)"
        ));
    };
    if vs.offset.is_some() || vs.at.is_some() || !vs.matchers.or_matchers.is_empty() {
        return Err(format!(
            "parse error: {s:?} is not a series selector (offset, @ and \"or\" are not allowed)"
        ));
    }
    let mut matchers = vs.matchers.matchers;
    if let Some(name) = vs.name {
        matchers.push(Matcher::new(MatchOp::Equal, METRIC_NAME, &name));
    }
    Ok(matchers)
}

/// The selector used when a metadata endpoint has no `match[]`: every series with a name,
/// `{__name__=~".+"}`.
pub fn all_series() -> Vec<Matcher> {
    // A constant selector: it always parses.
    parse_selector(r#"{__name__=~".+"}"#).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_become_matchers() {
        let sets = parse_matcher_sets(&["up", r#"{__name__=~"a.*", job!="x"}"#]).unwrap();
        assert_eq!(sets[0].len(), 1);
        assert_eq!(sets[0][0].name, "__name__");
        assert!(sets[0][0].is_match("up"));
        assert_eq!(sets[1].len(), 2);
    }

    #[test]
    fn rejects_non_selectors_and_empty_matchers() {
        assert!(parse_matcher_sets(&["rate(x[5m])"]).is_err());
        assert!(parse_matcher_sets(&["x[5m]"]).is_err());
        assert!(parse_matcher_sets(&["x offset 5m"]).is_err());
        assert!(parse_matcher_sets(&["{"])
            .unwrap_err()
            .starts_with("parse error"));
        assert_eq!(
            parse_matcher_sets(&[r#"{job=~".*"}"#]).unwrap_err(),
            "match[] must contain at least one non-empty matcher"
        );
    }

    #[test]
    fn all_series_matches_named_series_only() {
        let m = all_series();
        assert_eq!(m.len(), 1);
        assert!(m[0].is_match("up"));
        assert!(!m[0].is_match(""));
    }
}
