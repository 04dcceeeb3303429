//! Which data a query needs, worked out before evaluation so that each selector is read from
//! storage exactly once per query (for a range query: once for all its steps).
//!
//! For every vector selector in the expression (including the one inside each matrix
//! selector), the planner computes the widest time range any evaluation step can touch: the
//! step range shifted by `offset` (or pinned by `@`), widened by the lookback delta for instant
//! selectors, by the range for matrix selectors, and through every enclosing subquery.

use std::collections::HashMap;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};

use crate::labels::METRIC_NAME;
use crate::time::{at_ms, duration_ms, offset_ms};
use crate::value::{is_stale_nan, Series};

/// Identifies a selector node by its address in the parsed expression, which does not move
/// while the query runs.
pub(crate) fn selector_key(vs: &VectorSelector) -> usize {
    vs as *const VectorSelector as usize
}

/// The query-wide times the planner needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryTimes {
    /// The first evaluation time.
    pub start: i64,
    /// The last evaluation time.
    pub end: i64,
    /// The interval between evaluation times (a range query's step; 1 for an instant query,
    /// which has a single evaluation time).
    pub step: i64,
    /// The lookback delta in milliseconds.
    pub lookback: i64,
    /// The step of subqueries that give none.
    pub subquery_step: i64,
}

/// One read from storage.
#[derive(Debug)]
pub(crate) struct SelectRequest {
    /// The selector this read serves.
    pub key: usize,
    /// All matchers, the metric name included.
    pub matchers: Vec<Matcher>,
    /// First timestamp needed (inclusive).
    pub min_t: i64,
    /// Last timestamp needed (inclusive).
    pub max_t: i64,
    /// Whether the selector is a range selector, which never uses staleness markers.
    pub drop_stale: bool,
}

/// The selected series of every selector, each list sorted by labels.
#[derive(Debug, Default)]
pub(crate) struct SelectedData(HashMap<usize, Vec<Series>>);

impl SelectedData {
    /// Stores one selector's series, sorting them by labels as Prometheus's storage does.
    /// For a range selector, staleness markers are removed here, once, instead of at every step.
    pub fn insert(&mut self, req: &SelectRequest, mut series: Vec<Series>) {
        if req.drop_stale {
            for s in &mut series {
                s.samples.retain(|x| !is_stale_nan(x.v));
            }
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let key = req.key;
        self.0.insert(key, series);
    }

    /// The series selected for `vs`, sorted by labels.
    pub fn get(&self, vs: &VectorSelector) -> &[Series] {
        self.0
            .get(&selector_key(vs))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// All the reads that evaluating `expr` at every time in `[times.start, times.end]` needs.
pub(crate) fn plan(expr: &Expr, times: &QueryTimes) -> Vec<SelectRequest> {
    let mut out = Vec::new();
    walk(expr, times.start, times.end, times, &mut out);
    out
}

/// All matchers of a selector, with the metric name as a `__name__` matcher.
pub(crate) fn all_matchers(vs: &VectorSelector) -> Vec<Matcher> {
    let mut matchers = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name {
        matchers.push(Matcher::new(MatchOp::Equal, METRIC_NAME, name));
    }
    matchers
}

/// The reference times of a node evaluated at every time in `[lo, hi]` with `at` and `offset`.
fn shifted(
    lo: i64,
    hi: i64,
    at: &Option<promql_parser::parser::AtModifier>,
    offset: i64,
    times: &QueryTimes,
) -> (i64, i64) {
    match at_ms(at, times.start, times.end) {
        Some(t) => (t.saturating_sub(offset), t.saturating_sub(offset)),
        None => (lo.saturating_sub(offset), hi.saturating_sub(offset)),
    }
}

fn request(
    vs: &VectorSelector,
    min_t: i64,
    max_t: i64,
    drop_stale: bool,
    out: &mut Vec<SelectRequest>,
) {
    out.push(SelectRequest {
        key: selector_key(vs),
        matchers: all_matchers(vs),
        min_t,
        max_t,
        drop_stale,
    });
}

/// The selector an argument is, through any parentheses.
fn direct_selector(e: &Expr) -> Option<&VectorSelector> {
    match e {
        Expr::Paren(p) => direct_selector(&p.expr),
        Expr::VectorSelector(vs) => Some(vs),
        _ => None,
    }
}

fn walk(expr: &Expr, lo: i64, hi: i64, times: &QueryTimes, out: &mut Vec<SelectRequest>) {
    match expr {
        Expr::VectorSelector(vs) => {
            let (rlo, rhi) = shifted(lo, hi, &vs.at, offset_ms(&vs.offset), times);
            request(vs, rlo.saturating_sub(times.lookback), rhi, false, out);
        }
        Expr::MatrixSelector(ms) => {
            let (rlo, rhi) = shifted(lo, hi, &ms.vs.at, offset_ms(&ms.vs.offset), times);
            request(
                &ms.vs,
                rlo.saturating_sub(duration_ms(&ms.range)),
                rhi,
                true,
                out,
            );
        }
        Expr::Subquery(sq) => {
            let (rlo, rhi) = shifted(lo, hi, &sq.at, offset_ms(&sq.offset), times);
            walk(
                &sq.expr,
                rlo.saturating_sub(duration_ms(&sq.range)),
                rhi,
                times,
                out,
            );
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, lo, hi, times, out);
            }
            walk(&a.expr, lo, hi, times, out);
        }
        Expr::Unary(u) => walk(&u.expr, lo, hi, times, out),
        Expr::Binary(b) => {
            walk(&b.lhs, lo, hi, times, out);
            walk(&b.rhs, lo, hi, times, out);
        }
        Expr::Paren(p) => walk(&p.expr, lo, hi, times, out),
        Expr::Call(c) => {
            // Prometheus 2.42's timestamp() reads a selector with `@` at exactly the `@` time,
            // without its offset (see eval::functions::timestamp).
            if c.func.name == "timestamp" {
                if let Some(vs) = c.args.args.first().and_then(|a| direct_selector(a)) {
                    if let Some(at) = at_ms(&vs.at, times.start, times.end) {
                        request(vs, at.saturating_sub(times.lookback), at, false, out);
                        return;
                    }
                }
            }
            for a in &c.args.args {
                walk(a, lo, hi, times, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> QueryTimes {
        QueryTimes {
            start: 1_000_000,
            end: 2_000_000,
            step: 60_000,
            lookback: 300_000,
            subquery_step: 60_000,
        }
    }

    fn ranges(q: &str) -> Vec<(i64, i64)> {
        let expr = promql_parser::parser::parse(q).unwrap();
        plan(&expr, &times())
            .into_iter()
            .map(|r| (r.min_t, r.max_t))
            .collect()
    }

    #[test]
    fn instant_selector_widens_by_lookback_and_offset() {
        assert_eq!(ranges("foo"), vec![(700_000, 2_000_000)]);
        assert_eq!(ranges("foo offset 1m"), vec![(640_000, 1_940_000)]);
        assert_eq!(ranges("foo @ 500"), vec![(200_000, 500_000)]);
        assert_eq!(ranges("foo @ end()"), vec![(1_700_000, 2_000_000)]);
    }

    #[test]
    fn matrix_and_subquery_widen_by_range() {
        assert_eq!(ranges("rate(foo[5m])"), vec![(700_000, 2_000_000)]);
        assert_eq!(
            ranges("max_over_time(rate(foo[1m])[10m:1m] offset 1m)"),
            vec![(1_000_000 - 60_000 - 600_000 - 60_000, 1_940_000)]
        );
    }

    #[test]
    fn name_becomes_a_matcher() {
        let expr = promql_parser::parser::parse(r#"foo{a="b"}"#).unwrap();
        let reqs = plan(&expr, &times());
        assert_eq!(reqs[0].matchers.len(), 2);
        assert!(reqs[0].matchers.iter().any(|m| m.name == METRIC_NAME));
    }
}
