//! An in-memory [`Queryable`]: a plain list of series, for tests and for small embedded uses
//! (rule unit tests, fixtures). It scans every series on each select, so it is not meant for
//! large data sets.
//!
//! [`MemoryQueryable::load`] reads Prometheus's promql test `load` notation, so test cases can
//! be written the way Prometheus's `promql/testdata/*.test` files write them:
//!
//! ```text
//! load 5m
//!   http_requests{job="api", instance="0"}  0+10x10
//!   gauge{job="x"}                           1 _ 3 stale 5 _x2 -1-1x3
//! ```
//!
//! Each line's values sit at `0, interval, 2*interval, ...` (milliseconds from the epoch).
//! `a+bxN` expands to the N+1 values `a, a+b, ..., a+N*b` (`a-bxN` counts down), `axN` repeats
//! `a` N+1 times, `_` leaves a gap, `_xN` leaves N gaps, and `stale` writes a staleness marker.

use std::collections::HashMap;

use futures::future::BoxFuture;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr};

use crate::labels::{Labels, METRIC_NAME};
use crate::queryable::{Queryable, SelectError};
use crate::value::{stale_nan, Sample, Series};

/// Why `load` notation could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The first line is not `load <duration>`.
    #[error("expected `load <duration>`, got {0:?}")]
    Header(String),
    /// The duration does not parse.
    #[error("invalid load interval {0:?}")]
    Interval(String),
    /// A series line's selector does not parse as a metric with equality matchers.
    #[error("invalid series {line:?}: {reason}")]
    Series {
        /// The offending line.
        line: String,
        /// Why.
        reason: String,
    },
    /// A value token is not a number, `_`, `stale` or an expansion.
    #[error("invalid value {0:?}")]
    Value(String),
}

/// Series held in memory. Appending keeps each series' samples sorted by time.
#[derive(Debug, Default, Clone)]
pub struct MemoryQueryable {
    series: Vec<Series>,
    index: HashMap<Labels, usize>,
}

impl MemoryQueryable {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a sample to the series with exactly `labels`, creating it if needed. A sample at
    /// an existing timestamp replaces the old one.
    pub fn push(&mut self, labels: &Labels, t: i64, v: f64) {
        let idx = *self.index.entry(labels.clone()).or_insert_with(|| {
            self.series.push(Series {
                labels: labels.clone(),
                samples: Vec::new(),
            });
            self.series.len() - 1
        });
        let samples = &mut self.series[idx].samples;
        match samples.last() {
            Some(last) if last.t < t => samples.push(Sample { t, v }),
            None => samples.push(Sample { t, v }),
            _ => match samples.binary_search_by_key(&t, |s| s.t) {
                Ok(i) => samples[i].v = v,
                Err(i) => samples.insert(i, Sample { t, v }),
            },
        }
    }

    /// Reads one `load <interval>` block (see the module docs) and appends its samples.
    pub fn load(&mut self, text: &str) -> Result<(), LoadError> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let header = lines.next().unwrap_or_default();
        let interval = header
            .strip_prefix("load ")
            .ok_or_else(|| LoadError::Header(header.to_string()))?
            .trim();
        let step = promql_parser::util::parse_duration(interval)
            .map_err(|_| LoadError::Interval(interval.to_string()))?
            .as_millis() as i64;
        for line in lines {
            let (labels, values) = split_series_line(line)?;
            let mut t = 0;
            for token in values.split_whitespace() {
                for value in expand_token(token)? {
                    if let Some(v) = value {
                        self.push(&labels, t, v);
                    }
                    t += step;
                }
            }
        }
        Ok(())
    }
}

impl Queryable for MemoryQueryable {
    fn select<'a>(
        &'a self,
        matchers: &'a [Matcher],
        min_t: i64,
        max_t: i64,
    ) -> BoxFuture<'a, Result<Vec<Series>, SelectError>> {
        let out = self
            .series
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.is_match(s.labels.get(&m.name).unwrap_or("")))
            })
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .filter(|x| x.t >= min_t && x.t <= max_t)
                    .copied()
                    .collect(),
            })
            .collect();
        Box::pin(futures::future::ready(Ok(out)))
    }
}

/// Splits `metric{a="b"} 1 2 3` into its labels and the value text.
fn split_series_line(line: &str) -> Result<(Labels, &str), LoadError> {
    let bad = |reason: String| LoadError::Series {
        line: line.to_string(),
        reason,
    };
    let end = match line.find('}') {
        Some(i) => i + 1,
        None => line.find(char::is_whitespace).unwrap_or(line.len()),
    };
    let (selector, values) = line.split_at(end);
    let expr = parser::parse(selector).map_err(bad)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(bad("not a vector selector".to_string()));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = vs.name {
        pairs.push((METRIC_NAME.to_string(), name));
    }
    for m in vs.matchers.matchers {
        if m.op != MatchOp::Equal {
            return Err(bad(format!("matcher {m} is not an equality")));
        }
        pairs.push((m.name, m.value));
    }
    Ok((Labels::from_pairs(pairs), values))
}

/// Expands one value token into values; `None` is a gap.
fn expand_token(token: &str) -> Result<Vec<Option<f64>>, LoadError> {
    let bad = || LoadError::Value(token.to_string());
    let number = |s: &str| -> Result<f64, LoadError> {
        match s {
            "Inf" | "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            _ => s.parse::<f64>().map_err(|_| bad()),
        }
    };
    if token == "_" {
        return Ok(vec![None]);
    }
    if token == "stale" {
        return Ok(vec![Some(stale_nan())]);
    }
    let Some((head, times)) = token.rsplit_once('x') else {
        return Ok(vec![Some(number(token)?)]);
    };
    let n: usize = times.parse().map_err(|_| bad())?;
    if head == "_" {
        return Ok(vec![None; n]);
    }
    // The sign of the increment is the last '+' or '-' that is not the leading sign or part of
    // an exponent.
    let split = head
        .char_indices()
        .skip(1)
        .filter(|&(i, c)| (c == '+' || c == '-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E'))
        .map(|(i, _)| i)
        .last();
    let (start, delta) = match split {
        Some(i) => {
            let (a, b) = head.split_at(i);
            (number(a)?, number(b)?)
        }
        None => (number(head)?, 0.0),
    };
    Ok((0..=n).map(|i| Some(start + delta * i as f64)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::is_stale_nan;

    fn select(q: &MemoryQueryable, query: &str) -> Vec<Series> {
        let Expr::VectorSelector(vs) = parser::parse(query).unwrap() else {
            panic!("not a selector")
        };
        let mut matchers = vs.matchers.matchers.clone();
        if let Some(name) = vs.name {
            matchers.push(Matcher::new(MatchOp::Equal, METRIC_NAME, &name));
        }
        futures::executor::block_on(q.select(&matchers, i64::MIN, i64::MAX)).unwrap()
    }

    #[test]
    fn load_expands_notation() {
        let mut q = MemoryQueryable::new();
        q.load("load 1m\n  a{x=\"1\"} 0+10x2 _ stale\n  b 5-1x2 _x2 7x1\n  c 1e3 -2 Inf")
            .unwrap();
        let a = select(&q, "a");
        assert_eq!(a.len(), 1);
        let ts: Vec<i64> = a[0].samples.iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![0, 60_000, 120_000, 240_000]);
        assert!(is_stale_nan(a[0].samples[3].v));
        let b = select(&q, "b");
        let vs: Vec<f64> = b[0].samples.iter().map(|s| s.v).collect();
        assert_eq!(vs, vec![5.0, 4.0, 3.0, 7.0, 7.0]);
        assert_eq!(b[0].samples[3].t, 300_000);
        let c = select(&q, "c");
        assert_eq!(c[0].samples[0].v, 1000.0);
        assert_eq!(c[0].samples[1].v, -2.0);
    }

    #[test]
    fn select_applies_matchers_and_range() {
        let mut q = MemoryQueryable::new();
        q.load("load 1m\n  m{job=\"a\"} 1 2 3\n  m{job=\"b\"} 1 2 3\n  n 1")
            .unwrap();
        assert_eq!(select(&q, r#"m{job=~"a|b"}"#).len(), 2);
        assert_eq!(select(&q, r#"m{job=~"a.*x"}"#).len(), 0);
        assert_eq!(select(&q, r#"n{job=""}"#).len(), 1);
        let matchers = vec![Matcher::new(MatchOp::Equal, "job", "a")];
        let got = futures::executor::block_on(q.select(&matchers, 60_000, 60_000)).unwrap();
        assert_eq!(got[0].samples, vec![Sample { t: 60_000, v: 2.0 }]);
    }

    #[test]
    fn bad_input_is_reported() {
        let mut q = MemoryQueryable::new();
        assert!(matches!(q.load("lod 1m"), Err(LoadError::Header(_))));
        assert!(matches!(
            q.load("load 1m\n a 1+zx2"),
            Err(LoadError::Value(_))
        ));
    }
}
