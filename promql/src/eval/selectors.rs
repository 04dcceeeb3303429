//! Instant and range selection at one evaluation time, and subqueries.
//!
//! Prometheus 2.42's windows: an instant selector takes the newest sample in
//! `[ref - lookback, ref]` (both ends inclusive) unless that sample is a staleness marker; a
//! range selector takes every non-stale sample in `[ref - range, ref]` (both ends inclusive);
//! the markers are removed from a range selector's data once, when it is selected.
//! `ref` is the evaluation time (or the `@` time) minus the offset.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use super::cursor::{upper_bound_from, Cursor};
use super::{Evaluator, Value};
use crate::error::QueryError;
use crate::labels::{Labels, PrehashedMap};
use crate::time::{at_ms, duration_ms, offset_ms};
use crate::value::{is_stale_nan, Sample, Series, VectorSample};

/// One series' samples in a window: borrowed straight from the selected data for range
/// selectors (whose staleness markers were removed when the data was selected), owned for
/// subqueries.
#[derive(Debug)]
pub(crate) struct WindowSeries<'a> {
    pub labels: Labels,
    pub samples: Cow<'a, [Sample]>,
}

/// Where a range vector's window lies at one evaluation time (the rate functions extrapolate
/// to its edges).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowBounds {
    /// The window's first timestamp (inclusive).
    pub start: i64,
    /// The window's last timestamp (inclusive), the reference time.
    pub end: i64,
    /// The selector's range in milliseconds.
    pub range: i64,
}

/// The samples of a range vector at one evaluation time, with the window they came from.
#[derive(Debug)]
pub(crate) struct RangeWindow<'a> {
    /// Series with at least one sample in the window, sorted by labels.
    pub series: Vec<WindowSeries<'a>>,
    pub bounds: WindowBounds,
}

/// One subquery's inner results by inner evaluation time. An evaluation is a pure function of
/// the node and the time, so a kept result is always the one a recomputation would give.
pub(crate) type InnerResults = BTreeMap<i64, Rc<Vec<VectorSample>>>;

impl<'a> RangeWindow<'a> {
    /// The window as an owned matrix.
    pub(crate) fn into_matrix(self) -> Vec<Series> {
        self.series
            .into_iter()
            .map(|s| Series {
                labels: s.labels,
                samples: s.samples.into_owned(),
            })
            .collect()
    }
}

impl<'a> Evaluator<'a> {
    /// The time an `@` modifier pins to, if any.
    pub(crate) fn at_time(&self, at: &Option<promql_parser::parser::AtModifier>) -> Option<i64> {
        at_ms(at, self.times.start, self.times.end)
    }

    /// The reference time of a node evaluated at `t`.
    fn reference_time(
        &self,
        at: &Option<promql_parser::parser::AtModifier>,
        offset: i64,
        t: i64,
    ) -> i64 {
        at_ms(at, self.times.start, self.times.end)
            .unwrap_or(t)
            .saturating_sub(offset)
    }

    /// The instant vector of `vs` at `t`. Each element's `t` is its sample's own timestamp.
    pub(crate) fn vector_selector(
        &self,
        vs: &VectorSelector,
        t: i64,
    ) -> Result<Vec<VectorSample>, QueryError> {
        let reference = self.reference_time(&vs.at, offset_ms(&vs.offset), t);
        self.vector_selector_at(vs, reference)
    }

    /// The instant vector of `vs` for the reference time `reference` (offset already applied).
    pub(crate) fn vector_selector_at(
        &self,
        vs: &VectorSelector,
        reference: i64,
    ) -> Result<Vec<VectorSample>, QueryError> {
        self.check_deadline()?;
        let oldest = reference.saturating_sub(self.times.lookback);
        let data = self.data.get(vs);
        let mut out = Vec::new();
        self.cursors.with(vs, |hints| {
            hints.resize(data.len(), Cursor::default());
            for (series, hint) in data.iter().zip(hints.iter_mut()) {
                let idx = upper_bound_from(&series.samples, hint.end, reference);
                hint.end = idx;
                if idx == 0 {
                    continue;
                }
                let s = series.samples[idx - 1];
                if s.t < oldest || is_stale_nan(s.v) {
                    continue;
                }
                out.push(VectorSample {
                    labels: series.labels.clone(),
                    t: s.t,
                    v: s.v,
                });
            }
        });
        self.account(out.len())?;
        Ok(out)
    }

    /// The window of `ms` evaluated at `t`.
    pub(crate) fn matrix_bounds(&self, ms: &MatrixSelector, t: i64) -> WindowBounds {
        let end = self.reference_time(&ms.vs.at, offset_ms(&ms.vs.offset), t);
        let range = duration_ms(&ms.range);
        WindowBounds {
            start: end.saturating_sub(range),
            end,
            range,
        }
    }

    /// The range vector of `ms` at `t`.
    pub(crate) fn matrix_selector(
        &self,
        ms: &MatrixSelector,
        t: i64,
    ) -> Result<RangeWindow<'a>, QueryError> {
        self.check_deadline()?;
        let bounds = self.matrix_bounds(ms, t);
        let mut out = Vec::new();
        let mut total = 0;
        let data: &'a [Series] = self.data.get(&ms.vs);
        self.cursors.with(&ms.vs, |hints| {
            hints.resize(data.len(), Cursor::default());
            for (series, hint) in data.iter().zip(hints.iter_mut()) {
                let (lo, hi) = hint.window(&series.samples, bounds.start, bounds.end);
                if lo == hi {
                    continue;
                }
                total += hi - lo;
                out.push(WindowSeries {
                    labels: series.labels.clone(),
                    samples: Cow::Borrowed(&series.samples[lo..hi]),
                });
            }
        });
        self.account(total)?;
        Ok(RangeWindow {
            series: out,
            bounds,
        })
    }

    /// The range vector of a subquery at `t`: the inner expression evaluated at every multiple
    /// of the step inside `[ref - range, ref]`, as Prometheus aligns subquery steps to the epoch.
    pub(crate) fn subquery(
        &self,
        sq: &SubqueryExpr,
        t: i64,
    ) -> Result<RangeWindow<'a>, QueryError> {
        let end = self.reference_time(&sq.at, offset_ms(&sq.offset), t);
        let range = duration_ms(&sq.range);
        let start = end.saturating_sub(range);
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(self.times.subquery_step);
        let mut first = start.div_euclid(step) * step;
        if first < start {
            first = first.saturating_add(step);
        }
        let mut index: PrehashedMap<Labels, usize> = PrehashedMap::default();
        let mut out: Vec<Series> = Vec::new();
        let mut ti = first;
        while ti <= end {
            self.check_deadline()?;
            let points = self.subquery_step(sq, ti)?;
            self.account(points.len())?;
            for p in points.iter() {
                let slot = *index.entry(p.labels.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels: p.labels.clone(),
                        samples: Vec::new(),
                    });
                    out.len() - 1
                });
                out[slot].samples.push(Sample { t: ti, v: p.v });
            }
            ti = match ti.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
        // Steps move forward, so earlier inner results are not needed again (and if a nested
        // evaluation does need one, it is recomputed).
        self.subquery_cache
            .with(sq, |results| *results = results.split_off(&first));
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(RangeWindow {
            series: out
                .into_iter()
                .map(|s| WindowSeries {
                    labels: s.labels,
                    samples: Cow::Owned(s.samples),
                })
                .collect(),
            bounds: WindowBounds { start, end, range },
        })
    }

    /// The subquery's inner result at `ti`, from the cache when an earlier step computed it.
    /// Consecutive steps of a range query have overlapping subquery windows, and the inner
    /// times are aligned to the subquery step, so without the cache every inner point would be
    /// recomputed once per outer step.
    fn subquery_step(
        &self,
        sq: &SubqueryExpr,
        ti: i64,
    ) -> Result<Rc<Vec<VectorSample>>, QueryError> {
        if let Some(points) = self
            .subquery_cache
            .with(sq, |results| results.get(&ti).cloned())
        {
            return Ok(points);
        }
        let points = Rc::new(match self.eval(&sq.expr, ti)? {
            Value::Vector(v) => v,
            Value::Scalar(v) => vec![VectorSample {
                labels: Labels::empty(),
                t: ti,
                v,
            }],
            other => return Err(super::unexpected("subquery expression", &other)),
        });
        self.subquery_cache
            .with(sq, |results| results.insert(ti, points.clone()));
        Ok(points)
    }

    /// Evaluates a range-vector expression (a matrix selector or a subquery, maybe in parens).
    pub(crate) fn range_arg(&self, expr: &Expr, t: i64) -> Result<RangeWindow<'a>, QueryError> {
        match expr {
            Expr::Paren(p) => self.range_arg(&p.expr, t),
            Expr::MatrixSelector(ms) => self.matrix_selector(ms, t),
            Expr::Subquery(sq) => self.subquery(sq, t),
            _ => Err(QueryError::Execution(format!(
                "expected a range vector, got {expr}"
            ))),
        }
    }
}
