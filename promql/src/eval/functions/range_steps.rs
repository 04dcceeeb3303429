//! Range-vector functions over a matrix selector, computed for every step of a range query at
//! once, series by series.
//!
//! Step by step, every step visits every series, and each visit lands in a different heap
//! allocation: with thousands of series one step's windows do not stay in the cache, so every
//! step loaded them from memory again, twice (window search, then the function). Going series
//! by series walks one series' samples once, in order, for all steps, as Prometheus's range
//! evaluation of these functions does. The results are kept per step and handed out as the
//! engine reaches each step.
//!
//! This applies when the call's result is a function of the step time alone: the range argument
//! is a matrix selector and every scalar parameter is a literal. A subquery argument, a computed
//! parameter, or an evaluation time that is not one of the query's steps (inside a subquery)
//! is evaluated step by step, with the same functions.

use promql_parser::parser::{Call, Expr, MatrixSelector};

use super::range::{
    apply, check_holt_winters_factors, counter_rate_from_resets, counter_resets, output_labels,
    RangeFn,
};
use super::unwrap_parens;
use crate::error::QueryError;
use crate::eval::cursor::Cursor;
use crate::eval::Evaluator;
use crate::labels::Labels;
use crate::value::VectorSample;

/// Series between two deadline checks.
const DEADLINE_CHECK_EVERY: usize = 1024;

/// One call's results for every step, once computed.
#[derive(Debug, Default)]
pub(crate) struct CallSteps {
    computed: bool,
    /// By step index; `None` once handed out.
    steps: Vec<Option<StepOutput>>,
}

#[derive(Debug, Default)]
struct StepOutput {
    samples: Vec<VectorSample>,
    /// Samples the step's windows held, for the `max_samples` accounting, which must fail at
    /// the same step as a step-by-step evaluation.
    loaded: usize,
}

/// The call's result at `t` from the whole-range computation, or `None` where that does not
/// apply and the caller evaluates the step itself.
pub(super) fn precomputed(
    ev: &Evaluator<'_>,
    call: &Call,
    f: RangeFn,
    range_arg: &Expr,
    scalars: &[&Expr],
    t: i64,
) -> Result<Option<Vec<VectorSample>>, QueryError> {
    let Some(step) = ev.step_index(t) else {
        return Ok(None);
    };
    let Expr::MatrixSelector(ms) = unwrap_parens(range_arg) else {
        return Ok(None);
    };
    let Some(params) = scalars
        .iter()
        .map(|a| literal(a))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let taken = ev.call_steps.with(call, |state| {
        if !state.computed {
            let Some(steps) = compute(ev, call, f, ms, &params)? else {
                return Ok(None);
            };
            state.steps = steps.into_iter().map(Some).collect();
            state.computed = true;
        }
        Ok::<_, QueryError>(state.steps.get_mut(step).and_then(Option::take))
    })?;
    // Nothing left for a step evaluated again (a subquery's inner times can fall on the
    // query's steps): that evaluation goes step by step.
    let Some(output) = taken else {
        return Ok(None);
    };
    ev.account(output.loaded)?;
    Ok(Some(output.samples))
}

/// The value of a literal parameter, as evaluating it would give.
fn literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => literal(&p.expr),
        Expr::Unary(u) => literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// Every step's result, series by series; `None` if holding them all at once could exceed
/// the query's sample limit (the step-by-step evaluation holds one step at a time).
fn compute(
    ev: &Evaluator<'_>,
    call: &Call,
    f: RangeFn,
    ms: &MatrixSelector,
    params: &[f64],
) -> Result<Option<Vec<StepOutput>>, QueryError> {
    let data = ev.data.get(&ms.vs);
    let steps: Vec<_> = ev
        .step_times()
        .map(|t| (t, ev.matrix_bounds(ms, t)))
        .collect();
    if steps.len().saturating_mul(data.len()) > ev.max_samples {
        return Ok(None);
    }
    let mut out: Vec<StepOutput> = steps.iter().map(|_| StepOutput::default()).collect();
    let mut factors_checked = f != RangeFn::HoltWinters;
    ev.series_origins.with(call, |origins| {
        for (i, series) in data.iter().enumerate() {
            if i % DEADLINE_CHECK_EVERY == 0 {
                ev.check_deadline()?;
            }
            let mut cursor = Cursor::default();
            let mut labels: Option<Labels> = None;
            // Windows of consecutive steps overlap; finding the resets once keeps `rate` and
            // `increase` from rescanning every window (an hour is 240 samples at 15 s).
            let resets = matches!(f, RangeFn::Rate | RangeFn::Increase)
                .then(|| counter_resets(&series.samples));
            for ((t, bounds), step) in steps.iter().zip(out.iter_mut()) {
                let (lo, hi) = cursor.window(&series.samples, bounds.start, bounds.end);
                if lo == hi {
                    continue;
                }
                step.loaded += hi - lo;
                if !factors_checked {
                    check_holt_winters_factors(params[0], params[1])?;
                    factors_checked = true;
                }
                let v = match &resets {
                    Some(resets) => {
                        counter_rate_from_resets(f, &series.samples, (lo, hi), resets, bounds)
                    }
                    None => apply(f, params, &series.samples[lo..hi], bounds, *t),
                };
                let Some(v) = v else {
                    continue;
                };
                let labels = match &labels {
                    Some(l) => l.clone(),
                    None => labels
                        .insert(output_labels(f, origins, &series.labels)?)
                        .clone(),
                };
                step.samples.push(VectorSample { labels, t: *t, v });
            }
        }
        Ok(Some(out))
    })
}
