//! Function calls: the dispatch by name, and the small functions that need no module of their
//! own (`time`, `pi`, `vector`, `scalar`, `timestamp`, `sort`, `absent`).
//!
//! The set is exactly Prometheus 2.42's ([`PROMETHEUS_2_42_FUNCTIONS`]); the parser knows newer
//! functions too, and the engine rejects those before evaluation as Prometheus 2.42's parser
//! would.

mod histogram;
mod labels;
mod math;
mod range;
mod range_steps;
mod time;

use promql_parser::parser::{Call, Expr, VectorSelector};

use super::numeric::nan_first_less;
use super::{check_unique_labels, Evaluator, Value};
use crate::error::QueryError;
use crate::labels::{Labels, METRIC_NAME};
use crate::value::VectorSample;

pub(crate) use labels::RegexCache;
pub(crate) use range_steps::CallSteps;

/// Every function Prometheus 2.42 evaluates.
pub(crate) const PROMETHEUS_2_42_FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_replace",
    "label_join",
    "ln",
    "log10",
    "log2",
    "last_over_time",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
];

pub(super) fn eval(ev: &Evaluator<'_>, call: &Call, t: i64) -> Result<Value, QueryError> {
    let name = call.func.name;
    let args: Vec<&Expr> = call.args.args.iter().map(|a| a.as_ref()).collect();
    let out = match name {
        "time" => return Ok(Value::Scalar(t as f64 / 1000.0)),
        "pi" => return Ok(Value::Scalar(std::f64::consts::PI)),
        "scalar" => {
            let v = ev.eval_vector(args[0], t)?;
            return Ok(Value::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }));
        }
        "vector" => vec![VectorSample {
            labels: Labels::empty(),
            t,
            v: ev.eval_scalar(args[0], t)?,
        }],
        "timestamp" => timestamp(ev, args[0], t)?,
        "sort" | "sort_desc" => sort(ev.eval_vector(args[0], t)?, name == "sort_desc"),
        "absent" => {
            if ev.eval_vector(args[0], t)?.is_empty() {
                vec![absent_sample(selector_of(args[0]), t)]
            } else {
                Vec::new()
            }
        }
        "absent_over_time" => {
            if ev.range_arg(args[0], t)?.series.is_empty() {
                let vs = match unwrap_parens(args[0]) {
                    Expr::MatrixSelector(ms) => Some(&ms.vs),
                    _ => None,
                };
                vec![absent_sample(vs, t)]
            } else {
                Vec::new()
            }
        }
        "label_replace" => labels::label_replace(ev, &args, t)?,
        "label_join" => labels::label_join(ev, &args, t)?,
        "histogram_quantile" => histogram::histogram_quantile(ev, &args, t)?,
        // Native-histogram functions: Skyview stores float samples only, and over float samples
        // Prometheus 2.42 returns nothing from these.
        "histogram_count" | "histogram_sum" | "histogram_fraction" => {
            for a in &args {
                ev.eval(a, t)?;
            }
            Vec::new()
        }
        "round" | "clamp" | "clamp_min" | "clamp_max" => math::clamp_or_round(ev, name, &args, t)?,
        _ => {
            if let Some(f) = math::simple(name) {
                ev.eval_vector(args[0], t)?
                    .into_iter()
                    .map(|s| VectorSample {
                        labels: s.labels.drop_metric_name(),
                        t,
                        v: f(s.v),
                    })
                    .collect()
            } else if time::is_date_function(name) {
                time::eval(ev, name, &args, t)?
            } else if range::is_range_function(name) {
                // Unique by construction: `CallOrigins` rejects two input series with the same
                // output labels for the whole query, which is the stricter check.
                return Ok(Value::Vector(range::eval(ev, call, &args, t)?));
            } else {
                return Err(QueryError::BadData(format!(
                    "unknown function with name {name:?}"
                )));
            }
        }
    };
    check_unique_labels(&out)?;
    Ok(Value::Vector(out))
}

/// Strips parentheses, which Prometheus removes from function arguments before evaluating.
fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

fn selector_of(e: &Expr) -> Option<&VectorSelector> {
    match unwrap_parens(e) {
        Expr::VectorSelector(vs) => Some(vs),
        _ => None,
    }
}

/// `timestamp()` reports a sample's own time when given a selector directly, and the evaluation
/// time for any computed vector, as Prometheus does. Prometheus 2.42 looks a selector with `@`
/// up at exactly the `@` time, ignoring its `offset`; that is reproduced here and in
/// [`crate::selection`].
fn timestamp(ev: &Evaluator<'_>, arg: &Expr, t: i64) -> Result<Vec<VectorSample>, QueryError> {
    let (input, own_time) = match selector_of(arg) {
        Some(vs) => match ev.at_time(&vs.at) {
            Some(at) => (ev.vector_selector_at(vs, at)?, true),
            None => (ev.vector_selector(vs, t)?, true),
        },
        None => (ev.eval_vector(arg, t)?, false),
    };
    Ok(input
        .into_iter()
        .map(|s| VectorSample {
            labels: s.labels.drop_metric_name(),
            t,
            v: if own_time { s.t } else { t } as f64 / 1000.0,
        })
        .collect())
}

/// `sort` and `sort_desc`: NaN always last; equal values keep their order.
fn sort(mut v: Vec<VectorSample>, descending: bool) -> Vec<VectorSample> {
    v.sort_by(|a, b| {
        let (x, y) = if descending { (b.v, a.v) } else { (a.v, b.v) };
        // NaN-first ascending order, with NaN moved to the end.
        match (a.v.is_nan(), b.v.is_nan()) {
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if nan_first_less(x, y) => std::cmp::Ordering::Less,
            _ if nan_first_less(y, x) => std::cmp::Ordering::Greater,
            _ => std::cmp::Ordering::Equal,
        }
    });
    v
}

/// The element `absent` returns: labels from the selector's equality matchers, except names
/// that are also matched in any other way (Prometheus's `createLabelsForAbsentFunction`).
fn absent_sample(vs: Option<&VectorSelector>, t: i64) -> VectorSample {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(vs) = vs {
        let mut ambiguous: Vec<String> = Vec::new();
        for m in &vs.matchers.matchers {
            if m.name == METRIC_NAME {
                continue;
            }
            let already = pairs.iter().any(|(n, _)| n == &m.name);
            if m.op == promql_parser::label::MatchOp::Equal && !already {
                pairs.push((m.name.clone(), m.value.clone()));
            } else {
                ambiguous.push(m.name.clone());
            }
        }
        pairs.retain(|(n, _)| !ambiguous.contains(n));
    }
    VectorSample {
        labels: Labels::from_pairs(pairs),
        t,
        v: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(v: f64) -> VectorSample {
        VectorSample {
            labels: Labels::from_pairs([("v", crate::value::format_float(v))]),
            t: 0,
            v,
        }
    }

    #[test]
    fn sort_puts_nan_last_both_ways() {
        let input = vec![vs(2.0), vs(f64::NAN), vs(1.0), vs(3.0)];
        let asc: Vec<f64> = sort(input.clone(), false).iter().map(|s| s.v).collect();
        assert_eq!(&asc[..3], &[1.0, 2.0, 3.0]);
        assert!(asc[3].is_nan());
        let desc: Vec<f64> = sort(input, true).iter().map(|s| s.v).collect();
        assert_eq!(&desc[..3], &[3.0, 2.0, 1.0]);
        assert!(desc[3].is_nan());
    }

    #[test]
    fn absent_labels_come_from_unambiguous_equality_matchers() {
        let expr = promql_parser::parser::parse(
            r#"nonexistent{job="a", instance=~"x", env="p", env="q", dc!="z"}"#,
        )
        .unwrap();
        let s = absent_sample(selector_of(&expr), 0);
        assert_eq!(s.labels.to_string(), r#"{job="a"}"#);
        assert_eq!(absent_sample(None, 0).labels, Labels::empty());
    }
}
