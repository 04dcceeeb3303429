//! Binary operators: arithmetic, comparisons (filtering or `bool`), and the set operators,
//! with `on`/`ignoring` and `group_left`/`group_right` vector matching.
//!
//! Names follow Prometheus 2.42: arithmetic and `bool` comparisons drop `__name__`, filtering
//! comparisons keep the left-hand side's labels; errors for ambiguous matches use Prometheus's
//! exact messages.

use promql_parser::parser::token::{
    TokenId, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS,
    T_MOD, T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::{cached_signature, check_unique_labels, Evaluator, Signatures, Value};
use crate::error::QueryError;
use crate::labels::{Labels, Prehashed, PrehashedMap, PrehashedSet};
use crate::value::VectorSample;

/// How two vectors are matched.
#[derive(Debug)]
struct Matching {
    card: Card,
    on: bool,
    labels: Vec<String>,
    include: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
}

impl Matching {
    fn of(b: &BinaryExpr) -> Self {
        let Some(m) = &b.modifier else {
            return Self {
                card: Card::OneToOne,
                on: false,
                labels: Vec::new(),
                include: Vec::new(),
            };
        };
        let (on, labels) = match &m.matching {
            Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            None => (false, Vec::new()),
        };
        let (card, include) = match &m.card {
            VectorMatchCardinality::ManyToOne(l) => (Card::ManyToOne, l.labels.clone()),
            VectorMatchCardinality::OneToMany(l) => (Card::OneToMany, l.labels.clone()),
            _ => (Card::OneToOne, Vec::new()),
        };
        Self {
            card,
            on,
            labels,
            include,
        }
    }

    /// The matching signature of `l`, computed once per label set for the whole query.
    fn signature(&self, l: &Labels, state: &mut NodeState) -> u64 {
        cached_signature(&mut state.signatures, l, |l| {
            l.signature(self.on, &self.labels)
        })
    }
}

pub(super) fn eval(ev: &Evaluator<'_>, b: &BinaryExpr, t: i64) -> Result<Value, QueryError> {
    let op = b.op.id();
    let return_bool = b.return_bool();
    let lhs = ev.eval(&b.lhs, t)?;
    let rhs = ev.eval(&b.rhs, t)?;
    let out = match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => return Ok(Value::Scalar(scalar_binop(op, l, r))),
        (Value::Vector(l), Value::Scalar(r)) => vector_scalar(op, l, r, false, return_bool, t),
        (Value::Scalar(l), Value::Vector(r)) => vector_scalar(op, r, l, true, return_bool, t),
        (Value::Vector(l), Value::Vector(r)) => {
            let matching = Matching::of(b);
            match op {
                T_LAND => ev.binary_state.with(b, |state| and(l, r, &matching, state)),
                T_LOR => ev.binary_state.with(b, |state| or(l, r, &matching, state)),
                T_LUNLESS => ev
                    .binary_state
                    .with(b, |state| unless(l, r, &matching, state)),
                _ => ev.binary_state.with(b, |state| {
                    vector_binop(op, l, r, &matching, return_bool, t, state)
                })?,
            }
        }
        (l, r) => {
            let bad = if matches!(l, Value::Scalar(_) | Value::Vector(_)) {
                r
            } else {
                l
            };
            return Err(super::unexpected("binary operand", &bad));
        }
    };
    check_unique_labels(&out)?;
    Ok(Value::Vector(out))
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Arithmetic operators change the value's meaning, so they drop the metric name. Prometheus
/// 2.42 leaves `atan2` out of this list, so `atan2` keeps the name.
fn drops_metric_name(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_MOD | T_POW)
}

/// Prometheus's `vectorElemBinop`: the value and whether a filtering comparison keeps it.
fn elem_binop(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (l % r, true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// Scalar-scalar operations; comparisons (only allowed with `bool`) give 1 or 0.
fn scalar_binop(op: TokenId, l: f64, r: f64) -> f64 {
    let (v, keep) = elem_binop(op, l, r);
    if is_comparison(op) {
        if keep {
            1.0
        } else {
            0.0
        }
    } else {
        v
    }
}

/// A vector and a scalar; `swap` means the scalar was on the left.
fn vector_scalar(
    op: TokenId,
    vec: Vec<VectorSample>,
    scalar: f64,
    swap: bool,
    return_bool: bool,
    t: i64,
) -> Vec<VectorSample> {
    let mut out = Vec::with_capacity(vec.len());
    for s in vec {
        let (l, r) = if swap { (scalar, s.v) } else { (s.v, scalar) };
        let (mut value, mut keep) = elem_binop(op, l, r);
        // A comparison keeps the vector element's value even when it is on the right.
        if is_comparison(op) && swap {
            value = r;
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            let labels = if drops_metric_name(op) || return_bool {
                s.labels.drop_metric_name()
            } else {
                s.labels
            };
            out.push(VectorSample {
                labels,
                t,
                v: value,
            });
        }
    }
    out
}

/// Prometheus's `VectorBinop` for one-to-one and many-to-one/one-to-many matching.
fn vector_binop(
    op: TokenId,
    lhs: Vec<VectorSample>,
    rhs: Vec<VectorSample>,
    m: &Matching,
    return_bool: bool,
    t: i64,
    state: &mut NodeState,
) -> Result<Vec<VectorSample>, QueryError> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    // One-to-many is many-to-one with the sides swapped; values are swapped back below.
    let (lhs, rhs) = if m.card == Card::OneToMany {
        (rhs, lhs)
    } else {
        (lhs, rhs)
    };
    let mut right: PrehashedMap<u64, &VectorSample> =
        PrehashedMap::with_capacity_and_hasher(rhs.len(), Prehashed);
    for rs in &rhs {
        let sig = m.signature(&rs.labels, state);
        if let Some(dup) = right.get(&sig) {
            let side = if m.card == Card::OneToMany {
                "left"
            } else {
                "right"
            };
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                rs.labels.match_labels(m.on, &m.labels),
                rs.labels,
                dup.labels
            )));
        }
        right.insert(sig, rs);
    }
    let mut matched: PrehashedMap<u64, PrehashedSet<u64>> = PrehashedMap::default();
    let mut out = Vec::new();
    for ls in &lhs {
        let sig = m.signature(&ls.labels, state);
        let Some(rs) = right.get(&sig) else {
            continue;
        };
        let (vl, vr) = if m.card == Card::OneToMany {
            (rs.v, ls.v)
        } else {
            (ls.v, rs.v)
        };
        let (mut value, keep) = elem_binop(op, vl, vr);
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let labels = state
            .results
            .entry((ls.labels.clone(), rs.labels.clone()))
            .or_insert_with(|| {
                let labels = result_labels(&ls.labels, &rs.labels, op, m);
                if return_bool {
                    labels.drop_metric_name()
                } else {
                    labels
                }
            })
            .clone();
        match m.card {
            Card::OneToOne => {
                if matched.insert(sig, PrehashedSet::default()).is_some() {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".to_string(),
                    ));
                }
            }
            _ => {
                if !matched.entry(sig).or_default().insert(labels.hash_all()) {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                            .to_string(),
                    ));
                }
            }
        }
        out.push(VectorSample {
            labels,
            t,
            v: value,
        });
    }
    Ok(out)
}

/// What one binary expression remembers across the steps of a query, as Prometheus's per-node
/// helpers do: each label set's matching signature and each (left, right) pair's result labels
/// are derived once instead of once per step.
#[derive(Debug, Default)]
pub(crate) struct NodeState {
    signatures: Signatures,
    results: PrehashedMap<(Labels, Labels), Labels>,
}

/// Prometheus's `resultMetric`: the left ("many") side's labels, narrowed for one-to-one
/// matching, plus the `group_x` labels copied from the "one" side.
fn result_labels(lhs: &Labels, rhs: &Labels, op: TokenId, m: &Matching) -> Labels {
    let mut out = if drops_metric_name(op) {
        lhs.drop_metric_name()
    } else {
        lhs.clone()
    };
    if m.card == Card::OneToOne {
        out = if m.on {
            out.keep(&m.labels)
        } else {
            out.without(&m.labels)
        };
    }
    for name in &m.include {
        out = out.with(name, rhs.get(name).unwrap_or(""));
    }
    out
}

fn and(
    lhs: Vec<VectorSample>,
    rhs: Vec<VectorSample>,
    m: &Matching,
    state: &mut NodeState,
) -> Vec<VectorSample> {
    let right: PrehashedSet<u64> = rhs.iter().map(|s| m.signature(&s.labels, state)).collect();
    lhs.into_iter()
        .filter(|s| right.contains(&m.signature(&s.labels, state)))
        .collect()
}

fn or(
    lhs: Vec<VectorSample>,
    rhs: Vec<VectorSample>,
    m: &Matching,
    state: &mut NodeState,
) -> Vec<VectorSample> {
    let left: PrehashedSet<u64> = lhs.iter().map(|s| m.signature(&s.labels, state)).collect();
    let mut out = lhs;
    out.extend(
        rhs.into_iter()
            .filter(|s| !left.contains(&m.signature(&s.labels, state))),
    );
    out
}

fn unless(
    lhs: Vec<VectorSample>,
    rhs: Vec<VectorSample>,
    m: &Matching,
    state: &mut NodeState,
) -> Vec<VectorSample> {
    let right: PrehashedSet<u64> = rhs.iter().map(|s| m.signature(&s.labels, state)).collect();
    lhs.into_iter()
        .filter(|s| !right.contains(&m.signature(&s.labels, state)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_filter_or_return_bool() {
        assert_eq!(elem_binop(T_GTR, 2.0, 1.0), (2.0, true));
        assert_eq!(elem_binop(T_GTR, 1.0, 2.0), (1.0, false));
        assert_eq!(scalar_binop(T_EQLC, 1.0, 1.0), 1.0);
        assert_eq!(scalar_binop(T_MOD, -7.0, 3.0), -1.0);
        assert_eq!(scalar_binop(T_POW, 2.0, 10.0), 1024.0);
    }

    #[test]
    fn scalar_on_left_keeps_vector_value() {
        let v = vec![VectorSample {
            labels: Labels::from_pairs([("__name__", "m")]),
            t: 0,
            v: 5.0,
        }];
        let out = vector_scalar(T_LSS, v.clone(), 1.0, true, false, 0);
        assert_eq!(out[0].v, 5.0);
        assert!(out[0].labels.has("__name__"));
        let out = vector_scalar(T_LSS, v, 1.0, true, true, 0);
        assert_eq!(out[0].v, 1.0);
        assert!(!out[0].labels.has("__name__"));
    }
}
