//! The arithmetic of the query figures: nearest-rank percentiles of latencies, Skyview/Prometheus
//! ratios, their geometric mean, and the bar (`p50 <= 1.0x Prometheus`).
//!
//! Nearest rank, not interpolation: the p-th percentile of n latencies is the smallest one with
//! at least p% of them at or below it (rank `ceil(p * n / 100)`), so every figure reported is a
//! latency that was actually measured. With 20 rounds p99 is therefore the slowest round. The
//! rank is computed in integers, since `0.07 * 100.0` is not 7 in floating point. Kept apart
//! from the orchestration so that it is unit-tested.

use std::time::Duration;

/// The bar: Skyview's p50 at most this many times Prometheus's, per query.
pub const P50_BAR: f64 = 1.0;

/// The nearest-rank `percent`-th percentile (1..=100) of `durations`, in any order; `None`
/// when there is none.
pub fn percentile(durations: &[Duration], percent: u32) -> Option<Duration> {
    if durations.is_empty() {
        return None;
    }
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let rank = (percent.clamp(1, 100) as usize * n)
        .div_ceil(100)
        .clamp(1, n);
    Some(sorted[rank - 1])
}

/// `value / base`; `None` when the base is zero (no ratio is meaningful then).
pub fn ratio(value: Duration, base: Duration) -> Option<f64> {
    (!base.is_zero()).then(|| value.as_secs_f64() / base.as_secs_f64())
}

/// The geometric mean of positive finite ratios, the mean that treats 2x and 0.5x as opposites;
/// `None` when there is none or one is not a positive finite number.
pub fn geometric_mean(ratios: &[f64]) -> Option<f64> {
    if ratios.is_empty() || ratios.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return None;
    }
    let mean_log = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64;
    Some(mean_log.exp())
}

/// One system's latency figures for one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
}

impl Latency {
    /// The figures of the measured `durations`; `None` when nothing was measured.
    pub fn of(durations: &[Duration]) -> Option<Self> {
        Some(Self {
            p50: percentile(durations, 50)?,
            p99: percentile(durations, 99)?,
        })
    }
}

/// Both systems' figures for one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub prometheus: Latency,
    pub skyview: Latency,
}

impl Comparison {
    /// Skyview's p50 over Prometheus's.
    pub fn p50_ratio(&self) -> Option<f64> {
        ratio(self.skyview.p50, self.prometheus.p50)
    }

    /// Skyview's p99 over Prometheus's.
    pub fn p99_ratio(&self) -> Option<f64> {
        ratio(self.skyview.p99, self.prometheus.p99)
    }

    /// Whether Skyview's p50 clears [`P50_BAR`].
    pub fn meets_bar(&self) -> bool {
        self.p50_ratio().is_some_and(|r| r <= P50_BAR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn nearest_rank_on_unsorted_input() {
        // 1..=20 ms, shuffled.
        let durations = ms(&[
            7, 20, 1, 14, 3, 18, 9, 11, 2, 16, 5, 13, 19, 4, 10, 8, 15, 6, 17, 12,
        ]);
        assert_eq!(percentile(&durations, 50), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&durations, 99), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&durations, 5), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&durations, 100), Some(Duration::from_millis(20)));
    }

    #[test]
    fn nearest_rank_is_exact_where_floating_point_is_not() {
        // 0.07 * 100.0 is 7.000000000000001: a float rank would give 8.
        let durations = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&durations, 7), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&durations, 99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&durations, 50), Some(Duration::from_millis(50)));
    }

    #[test]
    fn small_and_empty_samples() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&ms(&[42]), 50), Some(Duration::from_millis(42)));
        assert_eq!(percentile(&ms(&[42]), 99), Some(Duration::from_millis(42)));
        // Two values: the median by nearest rank is the lower one.
        assert_eq!(percentile(&ms(&[9, 3]), 50), Some(Duration::from_millis(3)));
        assert_eq!(Latency::of(&[]), None);
    }

    #[test]
    fn ratios_and_their_geometric_mean() {
        let a = Duration::from_millis(30);
        let b = Duration::from_millis(20);
        assert_eq!(ratio(a, b), Some(1.5));
        assert_eq!(ratio(a, Duration::ZERO), None);
        let mean = geometric_mean(&[2.0, 0.5]).unwrap();
        assert!((mean - 1.0).abs() < 1e-12, "{mean}");
        let mean = geometric_mean(&[4.0, 1.0]).unwrap();
        assert!((mean - 2.0).abs() < 1e-12, "{mean}");
        assert_eq!(geometric_mean(&[]), None);
        assert_eq!(geometric_mean(&[1.0, 0.0]), None);
        assert_eq!(geometric_mean(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn the_bar_is_inclusive() {
        let latency = |p50, p99| Latency {
            p50: Duration::from_millis(p50),
            p99: Duration::from_millis(p99),
        };
        let equal = Comparison {
            prometheus: latency(10, 40),
            skyview: latency(10, 80),
        };
        assert_eq!(equal.p50_ratio(), Some(1.0));
        assert_eq!(equal.p99_ratio(), Some(2.0));
        assert!(equal.meets_bar());
        let slower = Comparison {
            prometheus: latency(10, 40),
            skyview: latency(11, 20),
        };
        assert!(!slower.meets_bar());
        let unmeasurable = Comparison {
            prometheus: latency(0, 0),
            skyview: latency(1, 1),
        };
        assert!(!unmeasurable.meets_bar());
    }
}
