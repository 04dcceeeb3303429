//! Aggregation operators with `by`/`without`, following Prometheus 2.42's `aggregation`:
//! groups appear in the order their first element arrives, `avg` uses the overflow-safe running
//! mean, `stddev`/`stdvar` use Welford's method, and `topk`/`bottomk` keep Go's binary heap so
//! that ties pick the same series Prometheus picks.

use promql_parser::parser::token::{
    TokenId, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE,
    T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::numeric::{nan_first_less, quantile};
use super::{cached_signature, Evaluator, Signatures, Value};
use crate::error::QueryError;
use crate::labels::{go_quote, is_valid_label_name, Labels, PrehashedMap, METRIC_NAME};
use crate::value::{format_float, VectorSample};

/// One output group being accumulated.
#[derive(Debug)]
struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: u64,
    /// `topk`/`bottomk` candidates, as a Go-style binary heap.
    heap: Vec<VectorSample>,
    /// `quantile` inputs.
    values: Vec<f64>,
}

pub(super) fn eval(ev: &Evaluator<'_>, a: &AggregateExpr, t: i64) -> Result<Value, QueryError> {
    let op = a.op.id();
    let param = match &a.param {
        Some(p) if op == T_COUNT_VALUES => Param::Label(ev.eval_string(p, t)?),
        Some(p) => Param::Number(ev.eval_scalar(p, t)?),
        None => Param::None,
    };
    let input = ev.eval_vector(&a.expr, t)?;
    let (without, mut grouping) = match &a.modifier {
        Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        None => (false, Vec::new()),
    };
    ev.grouping_keys.with(a, |keys| {
        Ok(Value::Vector(aggregate(
            op,
            param,
            &mut grouping,
            without,
            input,
            t,
            keys,
        )?))
    })
}

/// The evaluated parameter of an aggregation.
#[derive(Debug)]
enum Param {
    None,
    Number(f64),
    Label(String),
}

fn aggregate(
    op: TokenId,
    param: Param,
    grouping: &mut Vec<String>,
    without: bool,
    input: Vec<VectorSample>,
    t: i64,
    keys: &mut Signatures,
) -> Result<Vec<VectorSample>, QueryError> {
    let mut k: usize = 0;
    let mut q = f64::NAN;
    let mut value_label = None;
    match (op, param) {
        (T_TOPK | T_BOTTOMK, Param::Number(f)) => {
            if !(f.is_nan() || (f >= i64::MIN as f64 && f <= i64::MAX as f64)) {
                return Err(QueryError::Execution(format!(
                    "Scalar value {} overflows int64",
                    go_format_v(f)
                )));
            }
            let k64 = f as i64;
            if k64 < 1 {
                return Ok(Vec::new());
            }
            k = usize::try_from(k64).unwrap_or(usize::MAX);
        }
        (T_QUANTILE, Param::Number(f)) => q = f,
        (T_COUNT_VALUES, Param::Label(l)) => {
            if !is_valid_label_name(&l) {
                return Err(QueryError::Execution(format!(
                    "invalid label name {}",
                    go_quote(&l)
                )));
            }
            if !without {
                grouping.push(l.clone());
            }
            value_label = Some(l);
        }
        _ => {}
    }

    let mut index: PrehashedMap<u64, usize> = PrehashedMap::default();
    let mut groups: Vec<Group> = Vec::new();
    for mut s in input {
        if let Some(l) = &value_label {
            s.labels = s.labels.with(l, &format_float(s.v));
        }
        // count_values changes the labels at every step, so its keys are not worth keeping.
        let key = if value_label.is_some() {
            s.labels.signature(!without, grouping)
        } else {
            cached_signature(keys, &s.labels, |l| l.signature(!without, grouping))
        };
        let Some(&gi) = index.get(&key) else {
            let labels = if without {
                let mut dropped = grouping.clone();
                dropped.push(METRIC_NAME.to_string());
                s.labels.without(&dropped)
            } else {
                s.labels.keep(grouping)
            };
            let mut g = Group {
                labels,
                value: s.v,
                mean: s.v,
                count: 1,
                heap: Vec::new(),
                values: Vec::new(),
            };
            match op {
                T_STDDEV | T_STDVAR => g.value = 0.0,
                T_GROUP => g.value = 1.0,
                T_TOPK | T_BOTTOMK => g.heap.push(s),
                T_QUANTILE => g.values.push(s.v),
                _ => {}
            }
            index.insert(key, groups.len());
            groups.push(g);
            continue;
        };
        let g = &mut groups[gi];
        let v = s.v;
        match op {
            T_SUM => g.value += v,
            T_AVG => {
                g.count += 1;
                let keeps_infinite_mean = g.mean.is_infinite()
                    && ((v.is_infinite() && (g.mean > 0.0) == (v > 0.0))
                        || (!v.is_infinite() && !v.is_nan()));
                if !keeps_infinite_mean {
                    let n = g.count as f64;
                    g.mean += v / n - g.mean / n;
                }
            }
            T_MAX if g.value < v || g.value.is_nan() => g.value = v,
            T_MIN if g.value > v || g.value.is_nan() => g.value = v,
            T_COUNT | T_COUNT_VALUES => g.count += 1,
            T_STDDEV | T_STDVAR => {
                g.count += 1;
                let delta = v - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (v - g.mean);
            }
            T_TOPK | T_BOTTOMK => {
                let top = op == T_TOPK;
                let head = g.heap[0].v;
                let better = if top { head < v } else { head > v };
                if g.heap.len() < k || better || head.is_nan() {
                    if g.heap.len() == k {
                        if k == 1 {
                            g.heap[0] = s;
                            continue;
                        }
                        heap_pop(&mut g.heap, top);
                    }
                    heap_push(&mut g.heap, s, top);
                }
            }
            T_QUANTILE => g.values.push(v),
            _ => {}
        }
    }

    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let value = match op {
            T_AVG => g.mean,
            T_COUNT | T_COUNT_VALUES => g.count as f64,
            T_STDVAR => g.value / g.count as f64,
            T_STDDEV => (g.value / g.count as f64).sqrt(),
            T_QUANTILE => quantile(q, &mut g.values),
            T_TOPK | T_BOTTOMK => {
                let top = op == T_TOPK;
                // Best first: the reverse of the heap order.
                g.heap
                    .sort_by(|a, b| match (heap_less(b, a, top), heap_less(a, b, top)) {
                        (true, _) => std::cmp::Ordering::Less,
                        (_, true) => std::cmp::Ordering::Greater,
                        _ => std::cmp::Ordering::Equal,
                    });
                out.extend(g.heap.into_iter().map(|s| VectorSample { t, ..s }));
                continue;
            }
            _ => g.value,
        };
        out.push(VectorSample {
            labels: g.labels,
            t,
            v: value,
        });
    }
    Ok(out)
}

/// Go's `%v` for a float (`strconv`'s shortest `%g`): exponent form (`1e+19`) when the decimal
/// exponent is below -4 or at least 6.
fn go_format_v(f: f64) -> String {
    if !f.is_finite() || f == 0.0 {
        return format_float(f);
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..6).contains(&exp) {
        return format_float(f);
    }
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// The heap order: for `topk` the smallest (NaN first) is on top, for `bottomk` the largest.
fn heap_less(a: &VectorSample, b: &VectorSample, top: bool) -> bool {
    if top {
        nan_first_less(a.v, b.v)
    } else {
        (a.v.is_nan() && !b.v.is_nan()) || a.v > b.v
    }
}

/// Go's `container/heap.Push`.
fn heap_push(h: &mut Vec<VectorSample>, s: VectorSample, top: bool) {
    h.push(s);
    let mut j = h.len() - 1;
    while j > 0 {
        let i = (j - 1) / 2;
        if !heap_less(&h[j], &h[i], top) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

/// Go's `container/heap.Pop`, discarding the popped element.
fn heap_pop(h: &mut Vec<VectorSample>, top: bool) {
    let n = h.len() - 1;
    h.swap(0, n);
    let mut i = 0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && heap_less(&h[j1 + 1], &h[j1], top) {
            j = j1 + 1;
        }
        if !heap_less(&h[j], &h[i], top) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    h.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(pairs: &[(&str, &str)], v: f64) -> VectorSample {
        VectorSample {
            labels: Labels::from_pairs(pairs.iter().copied()),
            t: 0,
            v,
        }
    }

    fn input() -> Vec<VectorSample> {
        vec![
            vs(&[("__name__", "m"), ("job", "a"), ("i", "1")], 1.0),
            vs(&[("__name__", "m"), ("job", "a"), ("i", "2")], 3.0),
            vs(&[("__name__", "m"), ("job", "b"), ("i", "1")], 10.0),
        ]
    }

    #[test]
    fn sum_by_and_without() {
        let out = aggregate(
            T_SUM,
            Param::None,
            &mut vec!["job".into()],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].labels.to_string(), r#"{job="a"}"#);
        assert_eq!(out[0].v, 4.0);
        let out = aggregate(
            T_SUM,
            Param::None,
            &mut vec!["i".into()],
            true,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        assert_eq!(out[1].labels.to_string(), r#"{job="b"}"#);
    }

    #[test]
    fn topk_and_bottomk_order_best_first() {
        let out = aggregate(
            T_TOPK,
            Param::Number(2.0),
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        let vals: Vec<f64> = out.iter().map(|s| s.v).collect();
        assert_eq!(vals, vec![10.0, 3.0]);
        assert!(out[0].labels.has("__name__"));
        let out = aggregate(
            T_BOTTOMK,
            Param::Number(2.0),
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        let vals: Vec<f64> = out.iter().map(|s| s.v).collect();
        assert_eq!(vals, vec![1.0, 3.0]);
        assert!(aggregate(
            T_TOPK,
            Param::Number(0.0),
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default()
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn go_float_formatting_for_errors() {
        assert_eq!(go_format_v(1e300), "1e+300");
        assert_eq!(go_format_v(-2.5e-7), "-2.5e-07");
        assert_eq!(go_format_v(123456.0), "123456");
        assert_eq!(go_format_v(1234567.0), "1.234567e+06");
        let mut keys = Signatures::default();
        let err = aggregate(
            T_TOPK,
            Param::Number(1e19),
            &mut vec![],
            false,
            input(),
            0,
            &mut keys,
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "Scalar value 1e+19 overflows int64"
        );
    }

    #[test]
    fn count_values_and_stddev() {
        let out = aggregate(
            T_COUNT_VALUES,
            Param::Label("val".into()),
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].labels.to_string(), r#"{val="1"}"#);
        let err = aggregate(
            T_COUNT_VALUES,
            Param::Label("1x".into()),
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), r#"invalid label name "1x""#);
        let out = aggregate(
            T_STDVAR,
            Param::None,
            &mut vec![],
            false,
            input(),
            0,
            &mut Signatures::default(),
        )
        .unwrap();
        assert!((out[0].v - 134.0 / 9.0).abs() < 1e-9);
    }
}
