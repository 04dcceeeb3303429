//! Element-wise math: the one-argument functions, `round`, and the `clamp` family. All of them
//! drop the metric name, since the value no longer is the metric's.

use promql_parser::parser::Expr;

use super::super::numeric::{go_max, go_min};
use super::super::Evaluator;
use crate::error::QueryError;
use crate::value::VectorSample;

/// The one-argument functions, by name.
pub(super) fn simple(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sgn,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        _ => return None,
    })
}

/// `sgn`: -1, 1, or the value itself for zeros and NaN.
fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// `round(v, to_nearest=1)` (ties round up), `clamp(v, min, max)`, `clamp_min`, `clamp_max`.
pub(super) fn clamp_or_round(
    ev: &Evaluator<'_>,
    name: &str,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let input = ev.eval_vector(args[0], t)?;
    let mut params = Vec::with_capacity(args.len() - 1);
    for a in &args[1..] {
        params.push(ev.eval_scalar(a, t)?);
    }
    let f: Box<dyn Fn(f64) -> f64> = match name {
        "round" => {
            let inverse = 1.0 / params.first().copied().unwrap_or(1.0);
            Box::new(move |v| (v * inverse + 0.5).floor() / inverse)
        }
        "clamp" => {
            let (min, max) = (params[0], params[1]);
            if max < min {
                return Ok(Vec::new());
            }
            Box::new(move |v| go_max(min, go_min(max, v)))
        }
        "clamp_min" => {
            let min = params[0];
            Box::new(move |v| go_max(min, v))
        }
        _ => {
            let max = params[0];
            Box::new(move |v| go_min(max, v))
        }
    };
    Ok(input
        .into_iter()
        .map(|s| VectorSample {
            labels: s.labels.drop_metric_name(),
            t,
            v: f(s.v),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_functions() {
        assert_eq!(simple("sgn").unwrap()(-3.0), -1.0);
        assert!(simple("sgn").unwrap()(f64::NAN).is_nan());
        assert_eq!(simple("deg").unwrap()(std::f64::consts::PI), 180.0);
        assert_eq!(simple("log2").unwrap()(8.0), 3.0);
        assert!(simple("nope").is_none());
    }
}
