//! `histogram_quantile` over classic histograms (`le` buckets), as Prometheus 2.42's
//! `bucketQuantile`: buckets are grouped by all labels but `le` (the metric name included),
//! equal bounds are merged, non-monotonic counts are raised to the running maximum (the fix for
//! buckets scraped at slightly different times), and the quantile is interpolated linearly
//! inside its bucket. The result drops `__name__` and `le`.

use promql_parser::parser::Expr;

use super::super::Evaluator;
use crate::error::QueryError;
use crate::labels::{Labels, PrehashedMap, METRIC_NAME};
use crate::value::VectorSample;

const BUCKET_LABEL: &str = "le";

#[derive(Debug, Clone, Copy)]
struct Bucket {
    upper_bound: f64,
    count: f64,
}

pub(super) fn histogram_quantile(
    ev: &Evaluator<'_>,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let q = ev.eval_scalar(args[0], t)?;
    let input = ev.eval_vector(args[1], t)?;
    let le = [BUCKET_LABEL.to_string()];
    let excluded = [METRIC_NAME.to_string(), BUCKET_LABEL.to_string()];
    let mut index: PrehashedMap<Labels, usize> = PrehashedMap::default();
    let mut groups: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    for s in input {
        let Some(upper_bound) = s.labels.get(BUCKET_LABEL).and_then(parse_go_float) else {
            continue;
        };
        let key = s.labels.without(&le);
        let gi = *index.entry(key).or_insert_with(|| {
            groups.push((s.labels.without(&excluded), Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push(Bucket {
            upper_bound,
            count: s.v,
        });
    }
    Ok(groups
        .into_iter()
        .map(|(labels, mut buckets)| VectorSample {
            labels,
            t,
            v: bucket_quantile(q, &mut buckets),
        })
        .collect())
}

/// Go's `strconv.ParseFloat` for bucket bounds, which accepts `+Inf`, `Inf` and `inf`.
fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    if buckets.last().map(|b| b.upper_bound) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all but the +Inf bucket.
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.count < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper_bound;
    }
    if b == 0 && buckets[0].upper_bound <= 0.0 {
        return buckets[0].upper_bound;
    }
    let bucket_end = buckets[b].upper_bound;
    let mut count = buckets[b].count;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Merges buckets with the same bound (e.g. `le="1"` and `le="1.0"`) by adding their counts.
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.upper_bound == b.upper_bound => last.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

fn ensure_monotonic(buckets: &mut [Bucket]) {
    let mut max = f64::NEG_INFINITY;
    for b in buckets {
        if b.count > max {
            max = b.count;
        } else if b.count < max {
            b.count = max;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter()
            .map(|&(upper_bound, count)| Bucket { upper_bound, count })
            .collect()
    }

    #[test]
    fn interpolates_inside_bucket() {
        let mut b = buckets(&[(0.1, 10.0), (0.5, 30.0), (f64::INFINITY, 40.0), (1.0, 40.0)]);
        // rank 20 falls in (0.1, 0.5]: 0.1 + 0.4 * (10/20).
        assert!((bucket_quantile(0.5, &mut b) - 0.3).abs() < 1e-12);
        // rank 40 lands in the +Inf bucket's predecessor bound.
        assert_eq!(bucket_quantile(1.0, &mut b), 1.0);
    }

    #[test]
    fn nan_and_edge_rules() {
        assert!(bucket_quantile(0.5, &mut buckets(&[(1.0, 1.0)])).is_nan());
        assert!(bucket_quantile(0.5, &mut buckets(&[(f64::INFINITY, 1.0)])).is_nan());
        assert!(bucket_quantile(0.5, &mut buckets(&[(1.0, 0.0), (f64::INFINITY, 0.0)])).is_nan());
        assert_eq!(
            bucket_quantile(-1.0, &mut buckets(&[(f64::INFINITY, 0.0)])),
            f64::NEG_INFINITY
        );
        assert_eq!(
            bucket_quantile(2.0, &mut buckets(&[(f64::INFINITY, 0.0)])),
            f64::INFINITY
        );
        let mut neg = buckets(&[(-1.0, 5.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.1, &mut neg), -1.0);
    }

    #[test]
    fn monotonicity_fix_and_coalescing() {
        let mut b = buckets(&[(1.0, 10.0), (2.0, 8.0), (2.0, 1.0), (f64::INFINITY, 12.0)]);
        coalesce(&mut b);
        assert_eq!(b.len(), 3);
        ensure_monotonic(&mut b);
        assert_eq!(b[1].count, 10.0);
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("x"), None);
    }
}
