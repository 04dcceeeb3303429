//! The evaluator: computes an expression at one evaluation time over data selected beforehand.
//!
//! A range query evaluates the whole tree once per step. That keeps every operator written for
//! one instant, exactly as Prometheus defines it, while the data was read only once
//! ([`crate::selection`]). What Prometheus computes once per series for a whole range is kept
//! per node across steps ([`PerNode`]): each series' read position (so a step gallops a few
//! samples forward instead of searching), matching and grouping signatures, result labels of
//! binary operations and range functions, and subquery inner results (consecutive steps' windows
//! overlap). A step therefore costs about `O(series)` plus the operators' own work.
//!
//! The exception is a range-vector function over a matrix selector, the bulk of most
//! dashboards' work: it is computed for every step on its first evaluation, series by series,
//! and its per-step results are handed out as the steps come (`functions::range_steps`).

mod aggregate;
mod binary;
mod cursor;
mod functions;
mod numeric;
mod selectors;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use promql_parser::parser::Expr;

use crate::error::QueryError;
use crate::labels::{Labels, Prehashed, PrehashedMap, PrehashedSet};
use crate::selection::{QueryTimes, SelectedData};
use crate::value::{Series, VectorSample};

pub(crate) use functions::PROMETHEUS_2_42_FUNCTIONS;

/// A value during evaluation.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Scalar(f64),
    Vector(Vec<VectorSample>),
    Matrix(Vec<Series>),
    String(String),
}

/// Evaluates expressions over one query's selected data.
#[derive(Debug)]
pub(crate) struct Evaluator<'a> {
    data: &'a SelectedData,
    times: QueryTimes,
    deadline: Option<Instant>,
    max_samples: usize,
    /// Samples held by the current step, for the `max_samples` limit.
    loaded: Cell<usize>,
    /// Regexes of `label_replace`, compiled once per query.
    regexes: functions::RegexCache,
    /// Subquery inner results shared by overlapping steps.
    subquery_cache: PerNode<selectors::InnerResults>,
    /// Which input series produced each output label set of a range-vector function.
    series_origins: PerNode<CallOrigins>,
    /// Range-vector function calls computed for every step at once.
    call_steps: PerNode<functions::CallSteps>,
    /// Where each selector's series were last read.
    cursors: PerNode<Vec<cursor::Cursor>>,
    /// Signatures and result labels of vector-vector operations.
    binary_state: PerNode<binary::NodeState>,
    /// Grouping keys of aggregations.
    grouping_keys: PerNode<Signatures>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        data: &'a SelectedData,
        times: QueryTimes,
        deadline: Option<Instant>,
        max_samples: usize,
    ) -> Self {
        Self {
            data,
            times,
            deadline,
            max_samples,
            loaded: Cell::new(0),
            regexes: functions::RegexCache::default(),
            subquery_cache: PerNode::default(),
            series_origins: PerNode::default(),
            call_steps: PerNode::default(),
            cursors: PerNode::default(),
            binary_state: PerNode::default(),
            grouping_keys: PerNode::default(),
        }
    }

    /// Starts a new top-level step that already holds `retained` result samples.
    pub(crate) fn start_step(&self, retained: usize) -> Result<(), QueryError> {
        self.loaded.set(0);
        self.account(retained)
    }

    /// Counts `n` more samples held in memory; fails past `max_samples`, as Prometheus's
    /// `currentSamples` accounting does.
    pub(crate) fn account(&self, n: usize) -> Result<(), QueryError> {
        let loaded = self.loaded.get() + n;
        self.loaded.set(loaded);
        if loaded > self.max_samples {
            return Err(QueryError::TooManySamples {
                limit: self.max_samples,
            });
        }
        Ok(())
    }

    /// The position of `t` among the query's evaluation times, if it is one of them.
    pub(crate) fn step_index(&self, t: i64) -> Option<usize> {
        let QueryTimes {
            start, end, step, ..
        } = self.times;
        let offset = t.checked_sub(start)?;
        (t <= end && offset >= 0 && offset % step == 0).then(|| (offset / step) as usize)
    }

    /// The query's evaluation times, in order.
    pub(crate) fn step_times(&self) -> impl Iterator<Item = i64> {
        let QueryTimes {
            start, end, step, ..
        } = self.times;
        (start..=end).step_by(step as usize)
    }

    /// Fails once the query's deadline has passed.
    pub(crate) fn check_deadline(&self) -> Result<(), QueryError> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(QueryError::Timeout {
                stage: "expression evaluation",
            }),
            _ => Ok(()),
        }
    }

    /// Evaluates `expr` at time `t` (milliseconds).
    pub(crate) fn eval(&self, expr: &Expr, t: i64) -> Result<Value, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(vec) => {
                    let out: Vec<VectorSample> = vec
                        .into_iter()
                        .map(|s| VectorSample {
                            labels: s.labels.drop_metric_name(),
                            t,
                            v: -s.v,
                        })
                        .collect();
                    check_unique_labels(&out)?;
                    Ok(Value::Vector(out))
                }
                other => Err(unexpected("unary expression", &other)),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.vector_selector(vs, t)?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                Ok(Value::Matrix(self.range_arg(expr, t)?.into_matrix()))
            }
            Expr::Aggregate(a) => aggregate::eval(self, a, t),
            Expr::Binary(b) => binary::eval(self, b, t),
            Expr::Call(c) => functions::eval(self, c, t),
            Expr::Extension(_) => Err(QueryError::BadData(
                "extension expressions are not supported".to_string(),
            )),
        }
    }

    /// Evaluates an expression the parser typed as an instant vector.
    pub(crate) fn eval_vector(&self, expr: &Expr, t: i64) -> Result<Vec<VectorSample>, QueryError> {
        match self.eval(expr, t)? {
            Value::Vector(v) => Ok(v),
            other => Err(unexpected("instant vector argument", &other)),
        }
    }

    /// Evaluates an expression the parser typed as a scalar.
    pub(crate) fn eval_scalar(&self, expr: &Expr, t: i64) -> Result<f64, QueryError> {
        match self.eval(expr, t)? {
            Value::Scalar(v) => Ok(v),
            other => Err(unexpected("scalar argument", &other)),
        }
    }

    /// Evaluates an expression the parser typed as a string.
    pub(crate) fn eval_string(&self, expr: &Expr, t: i64) -> Result<String, QueryError> {
        match self.eval(expr, t)? {
            Value::String(s) => Ok(s),
            other => Err(unexpected("string argument", &other)),
        }
    }
}

/// An internal type mismatch; the parser's type checks make it unreachable for parsed input.
fn unexpected(what: &str, got: &Value) -> QueryError {
    let kind = match got {
        Value::Scalar(_) => "scalar",
        Value::Vector(_) => "instant vector",
        Value::Matrix(_) => "range vector",
        Value::String(_) => "string",
    };
    QueryError::Execution(format!("unexpected {kind} as {what}"))
}

/// State kept per expression node for the whole query, the way Prometheus keeps per-node
/// helpers across the steps of a range evaluation. Nodes are keyed by address: the parsed
/// expression does not move while the query runs.
#[derive(Debug)]
pub(crate) struct PerNode<T>(RefCell<HashMap<usize, T>>);

impl<T> Default for PerNode<T> {
    fn default() -> Self {
        Self(RefCell::new(HashMap::new()))
    }
}

impl<T: Default> PerNode<T> {
    /// Runs `f` with the state of `node`. `f` must not evaluate expressions (the state is
    /// borrowed while it runs).
    pub(crate) fn with<N, R>(&self, node: &N, f: impl FnOnce(&mut T) -> R) -> R {
        let key = node as *const N as usize;
        f(self.0.borrow_mut().entry(key).or_default())
    }
}

/// Signatures (matching or grouping hashes) of label sets seen by one node.
pub(crate) type Signatures = PrehashedMap<Labels, u64>;

/// The signature of `labels` from `cache`, computing it with `f` the first time.
pub(crate) fn cached_signature(
    cache: &mut Signatures,
    labels: &Labels,
    f: impl FnOnce(&Labels) -> u64,
) -> u64 {
    if let Some(sig) = cache.get(labels) {
        return *sig;
    }
    let sig = f(labels);
    cache.insert(labels.clone(), sig);
    sig
}

/// The output labels of a range-vector function (`rate`, `*_over_time`, ...) per input series.
///
/// Prometheus 2.42 evaluates such a function for each input series over all steps at once and
/// rejects the result if two input series end up with the same labels once `__name__` is
/// dropped, even if they never have a value at the same step. Evaluating step by step, the
/// evaluator reproduces that by remembering, per function call, which input series each output
/// label set came from. The same table saves deriving the output labels again at every step.
#[derive(Debug, Default)]
pub(crate) struct CallOrigins {
    output_of: PrehashedMap<Labels, Labels>,
    input_of: PrehashedMap<Labels, Labels>,
}

impl CallOrigins {
    /// The labels `input` without its metric name, as the call's result; fails if another input
    /// series of the call already produced those labels.
    pub(crate) fn without_name(&mut self, input: &Labels) -> Result<Labels, QueryError> {
        if let Some(output) = self.output_of.get(input) {
            return Ok(output.clone());
        }
        let output = input.drop_metric_name();
        if self.input_of.contains_key(&output) {
            return Err(QueryError::Execution(
                "vector cannot contain metrics with the same labelset".to_string(),
            ));
        }
        self.input_of.insert(output.clone(), input.clone());
        self.output_of.insert(input.clone(), output.clone());
        Ok(output)
    }
}

/// Prometheus rejects an operator result in which two elements have the same labels.
pub(crate) fn check_unique_labels(v: &[VectorSample]) -> Result<(), QueryError> {
    if v.len() < 2 {
        return Ok(());
    }
    let mut seen = PrehashedSet::with_capacity_and_hasher(v.len(), Prehashed);
    for s in v {
        if !seen.insert(&s.labels) {
            return Err(QueryError::Execution(
                "vector cannot contain metrics with the same labelset".to_string(),
            ));
        }
    }
    Ok(())
}
