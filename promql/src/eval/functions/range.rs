//! Functions over range vectors: the rate family with Prometheus's extrapolation, the
//! instant-rate pair, regression (`deriv`, `predict_linear`), `holt_winters`, `changes`,
//! `resets`, and the `*_over_time` aggregations.
//!
//! Every result drops the metric name except `last_over_time`, which Prometheus 2.42 treats
//! like an offset.

use promql_parser::parser::{Call, Expr};

use super::super::numeric::{kahan_sum_inc, quantile};
use super::super::selectors::WindowBounds;
use super::super::{CallOrigins, Evaluator};
use super::range_steps;
use crate::error::QueryError;
use crate::labels::Labels;
use crate::value::{Sample, VectorSample};

/// A range-vector function, resolved from its name once per call rather than per series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    HoltWinters,
    Changes,
    Resets,
    AvgOverTime,
    CountOverTime,
    SumOverTime,
    MinOverTime,
    MaxOverTime,
    QuantileOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    PresentOverTime,
}

impl RangeFn {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => Self::Rate,
            "increase" => Self::Increase,
            "delta" => Self::Delta,
            "irate" => Self::Irate,
            "idelta" => Self::Idelta,
            "deriv" => Self::Deriv,
            "predict_linear" => Self::PredictLinear,
            "holt_winters" => Self::HoltWinters,
            "changes" => Self::Changes,
            "resets" => Self::Resets,
            "avg_over_time" => Self::AvgOverTime,
            "count_over_time" => Self::CountOverTime,
            "sum_over_time" => Self::SumOverTime,
            "min_over_time" => Self::MinOverTime,
            "max_over_time" => Self::MaxOverTime,
            "quantile_over_time" => Self::QuantileOverTime,
            "stddev_over_time" => Self::StddevOverTime,
            "stdvar_over_time" => Self::StdvarOverTime,
            "last_over_time" => Self::LastOverTime,
            "present_over_time" => Self::PresentOverTime,
            _ => return None,
        })
    }
}

pub(super) fn is_range_function(name: &str) -> bool {
    RangeFn::from_name(name).is_some()
}

pub(super) fn eval(
    ev: &Evaluator<'_>,
    call: &Call,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let name = call.func.name;
    let Some(f) = RangeFn::from_name(name) else {
        return Err(QueryError::BadData(format!(
            "unknown function with name {name:?}"
        )));
    };
    // quantile_over_time takes its scalar first; the others take the range vector first.
    let (range_arg, scalars) = if f == RangeFn::QuantileOverTime {
        (args[1], &args[..1])
    } else {
        (args[0], &args[1..])
    };
    if let Some(out) = range_steps::precomputed(ev, call, f, range_arg, scalars, t)? {
        return Ok(out);
    }
    let mut params = Vec::with_capacity(scalars.len());
    for a in scalars {
        params.push(ev.eval_scalar(a, t)?);
    }
    let window = ev.range_arg(range_arg, t)?;
    if f == RangeFn::HoltWinters && !window.series.is_empty() {
        check_holt_winters_factors(params[0], params[1])?;
    }
    ev.series_origins.with(call, |origins| {
        let mut out = Vec::with_capacity(window.series.len());
        for series in &window.series {
            let Some(v) = apply(f, &params, &series.samples, &window.bounds, t) else {
                continue;
            };
            let labels = output_labels(f, origins, &series.labels)?;
            out.push(VectorSample { labels, t, v });
        }
        Ok(out)
    })
}

/// The labels of the result for the input series `input`.
pub(super) fn output_labels(
    f: RangeFn,
    origins: &mut CallOrigins,
    input: &Labels,
) -> Result<Labels, QueryError> {
    if f == RangeFn::LastOverTime {
        Ok(input.clone())
    } else {
        origins.without_name(input)
    }
}

/// One series' result; `None` drops the series from the output.
pub(super) fn apply(
    f: RangeFn,
    params: &[f64],
    points: &[Sample],
    window: &WindowBounds,
    t: i64,
) -> Option<f64> {
    match f {
        RangeFn::Rate => extrapolated_rate(points, window, true, true),
        RangeFn::Increase => extrapolated_rate(points, window, true, false),
        RangeFn::Delta => extrapolated_rate(points, window, false, false),
        RangeFn::Irate => instant_value(points, true),
        RangeFn::Idelta => instant_value(points, false),
        RangeFn::Deriv => (points.len() >= 2).then(|| linear_regression(points, points[0].t).0),
        RangeFn::PredictLinear => (points.len() >= 2).then(|| {
            let (slope, intercept) = linear_regression(points, t);
            slope * params[0] + intercept
        }),
        RangeFn::HoltWinters => holt_winters(points, params[0], params[1]),
        RangeFn::Changes => Some(
            points
                .windows(2)
                .filter(|w| w[0].v != w[1].v && !(w[0].v.is_nan() && w[1].v.is_nan()))
                .count() as f64,
        ),
        RangeFn::Resets => Some(points.windows(2).filter(|w| w[1].v < w[0].v).count() as f64),
        RangeFn::AvgOverTime => Some(avg(points)),
        RangeFn::CountOverTime => Some(points.len() as f64),
        RangeFn::SumOverTime => {
            let (mut sum, mut c) = (0.0, 0.0);
            for p in points {
                (sum, c) = kahan_sum_inc(p.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        RangeFn::MinOverTime => {
            Some(points.iter().fold(
                points[0].v,
                |m, p| {
                    if p.v < m || m.is_nan() {
                        p.v
                    } else {
                        m
                    }
                },
            ))
        }
        RangeFn::MaxOverTime => {
            Some(points.iter().fold(
                points[0].v,
                |m, p| {
                    if p.v > m || m.is_nan() {
                        p.v
                    } else {
                        m
                    }
                },
            ))
        }
        RangeFn::QuantileOverTime => {
            let mut values: Vec<f64> = points.iter().map(|p| p.v).collect();
            Some(quantile(params[0], &mut values))
        }
        RangeFn::StddevOverTime => Some(variance(points).sqrt()),
        RangeFn::StdvarOverTime => Some(variance(points)),
        RangeFn::LastOverTime => points.last().map(|p| p.v),
        RangeFn::PresentOverTime => Some(1.0),
    }
}

/// `rate`, `increase` and `delta` (Prometheus's `extrapolatedRate`): the change between the
/// first and last sample (adding back counter resets), extrapolated towards the window's edges
/// unless a sample gap suggests the series started or ended inside the window, and never to
/// below zero for counters.
fn extrapolated_rate(
    points: &[Sample],
    window: &WindowBounds,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let mut result = points[points.len() - 1].v - points[0].v;
    if is_counter {
        let mut prev = 0.0;
        for p in points {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    Some(extrapolate(points, window, result, is_counter, is_rate))
}

/// The positions in `samples` of counter resets (values below the previous one).
pub(super) fn counter_resets(samples: &[Sample]) -> Vec<usize> {
    (1..samples.len())
        .filter(|&i| samples[i].v < samples[i - 1].v)
        .collect()
}

/// `rate` or `increase` of the window `samples[lo..hi]`, adding back only the resets listed in
/// `resets` ([`counter_resets`] of the whole series) instead of scanning the window. The
/// additions are the same, in the same order, as [`extrapolated_rate`]'s scan, so the result is
/// identical to the last bit.
pub(super) fn counter_rate_from_resets(
    f: RangeFn,
    samples: &[Sample],
    (lo, hi): (usize, usize),
    resets: &[usize],
    window: &WindowBounds,
) -> Option<f64> {
    if hi - lo < 2 {
        return None;
    }
    let first = samples[lo].v;
    let mut result = samples[hi - 1].v - first;
    // The scan compares the first sample with zero.
    if first < 0.0 {
        result += 0.0;
    }
    let from = resets.partition_point(|&i| i <= lo);
    for &i in resets[from..].iter().take_while(|&&i| i < hi) {
        result += samples[i - 1].v;
    }
    Some(extrapolate(
        &samples[lo..hi],
        window,
        result,
        true,
        f == RangeFn::Rate,
    ))
}

/// Extrapolates `result`, the change over `points` (two or more), to the window's edges.
fn extrapolate(
    points: &[Sample],
    window: &WindowBounds,
    result: f64,
    is_counter: bool,
    is_rate: bool,
) -> f64 {
    let first = points[0];
    let last = points[points.len() - 1];
    let mut to_start = (first.t - window.start) as f64 / 1000.0;
    let to_end = (window.end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_gap = sampled / (points.len() - 1) as f64;
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg_gap * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg_gap / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg_gap / 2.0
    };
    let mut v = result * (interval / sampled);
    if is_rate {
        v /= window.range as f64 / 1000.0;
    }
    v
}

/// `irate` and `idelta`: from the last two samples only.
fn instant_value(points: &[Sample], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let last = points[points.len() - 1];
    let prev = points[points.len() - 2];
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit with x in seconds relative to `intercept_time`; (slope, intercept).
fn linear_regression(points: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = points[0].v;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    (slope, sum_y / n - slope * sum_x / n)
}

/// Prometheus's running mean, which keeps an infinite mean instead of producing NaN.
fn avg(points: &[Sample]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0, 0.0);
    for p in points {
        count += 1.0;
        if mean.is_infinite() {
            if p.v.is_infinite() && (mean > 0.0) == (p.v > 0.0) {
                continue;
            }
            if !p.v.is_infinite() && !p.v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_sum_inc(p.v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

/// Population variance with compensated Welford updates.
fn variance(points: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

pub(super) fn check_holt_winters_factors(sf: f64, tf: f64) -> Result<(), QueryError> {
    // Written so that NaN factors pass, as they do in Prometheus's comparisons.
    if sf <= 0.0 || sf >= 1.0 {
        return Err(QueryError::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(QueryError::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    Ok(())
}

/// Double exponential smoothing; the smoothed value after the last sample.
fn holt_winters(points: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, points[0].v);
    let mut b = points[1].v - points[0].v;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    fn window(start: i64, end: i64) -> WindowBounds {
        WindowBounds {
            start,
            end,
            range: end - start,
        }
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // 0..=50 every 10s over a 60s window ending at 55s.
        let p = pts(&[
            (0, 0.0),
            (10_000, 1.0),
            (20_000, 2.0),
            (30_000, 3.0),
            (40_000, 4.0),
            (50_000, 5.0),
        ]);
        let w = window(-5_000, 55_000);
        // Start extrapolation is capped where the counter would hit zero (at t=0).
        let inc = extrapolated_rate(&p, &w, true, false).unwrap();
        assert!((inc - 5.5).abs() < 1e-12, "{inc}");
        let delta = extrapolated_rate(&p, &w, false, false).unwrap();
        assert!((delta - 6.0).abs() < 1e-12, "{delta}");
    }

    #[test]
    fn rate_adds_back_counter_resets() {
        let p = pts(&[(0, 5.0), (10_000, 10.0), (20_000, 2.0)]);
        let w = window(0, 20_000);
        // 10 - 5 + 2 = 7 over 20s, no extrapolation needed.
        assert!((extrapolated_rate(&p, &w, true, true).unwrap() - 7.0 / 20.0).abs() < 1e-12);
        assert_eq!(instant_value(&p, true), Some(0.2));
        assert_eq!(instant_value(&p, false), Some(-8.0));
    }

    #[test]
    fn reset_positions_give_the_scan_result_bit_for_bit() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut v = -3.0;
        let samples: Vec<Sample> = (0..400)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v = if x % 17 == 0 {
                    (x % 5) as f64 - 2.0
                } else {
                    v + (x % 1000) as f64 / 7.0
                };
                Sample { t: i * 15_000, v }
            })
            .collect();
        let resets = counter_resets(&samples);
        assert!(resets.len() > 5);
        for lo in 0..samples.len() {
            for hi in (lo..=samples.len()).step_by(7) {
                let w = window(lo as i64 * 15_000 - 1_000, hi as i64 * 15_000);
                for (f, is_rate) in [(RangeFn::Rate, true), (RangeFn::Increase, false)] {
                    let scanned = extrapolated_rate(&samples[lo..hi], &w, true, is_rate);
                    let indexed = counter_rate_from_resets(f, &samples, (lo, hi), &resets, &w);
                    assert_eq!(
                        scanned.map(f64::to_bits),
                        indexed.map(f64::to_bits),
                        "lo={lo} hi={hi}"
                    );
                }
            }
        }
    }

    #[test]
    fn regression_and_smoothing() {
        let p = pts(&[(0, 1.0), (1000, 3.0), (2000, 5.0)]);
        let (slope, intercept) = linear_regression(&p, 0);
        assert!((slope - 2.0).abs() < 1e-12 && (intercept - 1.0).abs() < 1e-12);
        assert_eq!(
            linear_regression(&pts(&[(0, 4.0), (1, 4.0)]), 0),
            (0.0, 4.0)
        );
        assert!(holt_winters(&p, 0.5, 0.5).unwrap() > 4.0);
        assert!(check_holt_winters_factors(1.0, 0.5).is_err());
    }

    #[test]
    fn over_time_statistics() {
        let p = pts(&[
            (0, 2.0),
            (1, 4.0),
            (2, 4.0),
            (3, 4.0),
            (4, 5.0),
            (5, 5.0),
            (6, 7.0),
            (7, 9.0),
        ]);
        assert_eq!(avg(&p), 5.0);
        assert_eq!(variance(&p), 4.0);
        let inf = pts(&[(0, f64::INFINITY), (1, 1.0)]);
        assert_eq!(avg(&inf), f64::INFINITY);
    }
}
